// Keyed concurrency limits shared by a whole run: a task item names keys with a cap each
// (`limits:`, `throttle:`), and starts only when every key it names has room. Keys are plain
// strings, so every task, host and loop item naming the same key shares the one count.

/** One key an item holds while it runs, and the most holders this item accepts for it. */
export interface LimitSlot {
  key: string;
  max: number;
}

interface Waiter {
  slots: LimitSlot[];
  grant: () => void;
}

export interface LimitStats {
  /** The most holders each key ever had at once. */
  peak: Record<string, number>;
}

export class LimitRegistry {
  private readonly held = new Map<string, number>();
  private readonly waiting: Waiter[] = [];
  private readonly peaks = new Map<string, number>();

  /**
   * Waits until every slot has room, then takes them all at once (never some while waiting for
   * the others: two items each holding half of what the other needs would wait forever).
   * Returns the release function; call it exactly once.
   */
  async acquire(slots: LimitSlot[], signal?: AbortSignal): Promise<() => void> {
    const wanted = merge(slots);
    if (wanted.length === 0) return () => undefined;
    if (signal?.aborted) throw new LimitAborted(signal.reason);
    if (this.waiting.length === 0 && this.fits(wanted)) this.take(wanted);
    else await this.wait(wanted, signal);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      for (const s of wanted) this.held.set(s.key, (this.held.get(s.key) ?? 1) - 1);
      this.wake();
    };
  }

  /** Queues `slots` until granted; an abort (interruption, task timeout) leaves the queue holding nothing. */
  private wait(slots: LimitSlot[], signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const i = this.waiting.indexOf(w);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(new LimitAborted(signal?.reason));
      };
      const w: Waiter = {
        slots,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(w);
      this.wake(); // it may fit although older waiters do not
    });
  }

  stats(): LimitStats {
    return { peak: Object.fromEntries(this.peaks) };
  }

  private fits(slots: LimitSlot[]): boolean {
    return slots.every((s) => (this.held.get(s.key) ?? 0) < s.max);
  }

  private take(slots: LimitSlot[]): void {
    for (const s of slots) {
      const n = (this.held.get(s.key) ?? 0) + 1;
      this.held.set(s.key, n);
      this.peaks.set(s.key, Math.max(n, this.peaks.get(s.key) ?? 0));
    }
  }

  /** Oldest first; a waiter that cannot start yet does not hold back a later one that can. */
  private wake(): void {
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i];
      if (this.fits(w.slots)) {
        this.waiting.splice(i, 1);
        this.take(w.slots);
        w.grant();
      } else i++;
    }
  }
}

/** Raised when the wait for a slot was aborted: the item never started. */
export class LimitAborted extends Error {
  constructor(reason: unknown) {
    super(`not started: ${reason instanceof Error ? reason.message : String(reason ?? 'aborted')} while waiting for a concurrency slot`);
  }
}

/** A key named twice by one item counts once, with the smaller cap. */
function merge(slots: LimitSlot[]): LimitSlot[] {
  const byKey = new Map<string, number>();
  for (const s of slots) byKey.set(s.key, Math.min(s.max, byKey.get(s.key) ?? Infinity));
  return [...byKey].map(([key, max]) => ({ key, max }));
}

/** Runs `count` jobs, at most `parallel` at once, in index order; stops starting new ones once `stop()` says so. */
export async function runParallel(count: number, parallel: number, job: (i: number) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count && !stop()) await job(next++);
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(parallel, count)) }, worker));
}
