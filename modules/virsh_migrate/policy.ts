// Steering a running migration (pure state machine, fed one job sample at a time):
//   precopy   plain pre-copy; abort at the completion timeout or when progress stops.
//   converge  (default) on each stall raise the downtime limit along oVirt's ramp
//             100→150→200→300→400→500 ms (capped by max_downtime_ms); once the ramp is spent,
//             switch to post-copy if allowed, else abort at the completion timeout.
//   postcopy  start pre-copy, switch to post-copy after the first full pass.
// Nova's anchors: completion timeout 800 s per GiB, progress timeout 150 s.

export type Policy = 'precopy' | 'converge' | 'postcopy';

export interface PolicyConfig {
  policy: Policy;
  allowPostcopy: boolean;
  /** Ceiling of the downtime limit (ms). */
  maxDowntimeMs: number;
  /** Abort (or post-copy) after this long: timeout_per_gib_s × guest GiB. */
  completionTimeoutS: number;
  /** Abort when the data remaining has not reached a new low for this long. */
  progressTimeoutS: number;
  /** A stall: no new low of the data remaining for this long (converge). */
  stallWindowS: number;
}

/** oVirt's "minimal downtime" ramp (ms). */
export const DOWNTIME_RAMP = [100, 150, 200, 300, 400, 500];

export interface JobSample {
  /** Seconds since the migration started. */
  t: number;
  /** Bytes still to send (data_remaining). */
  remaining: number;
  /** Pre-copy pass number (memory_iteration, 1 = first pass). */
  iteration: number;
}

export type Action =
  | { kind: 'set-downtime'; ms: number; why: string }
  | { kind: 'postcopy'; why: string }
  | { kind: 'abort'; why: string };

export interface PolicyStep {
  t: number;
  action: Action;
}

/** A new low must beat the old one by this fraction to count as progress (noise). */
const PROGRESS_FRACTION = 0.02;

export class Steering {
  readonly steps: PolicyStep[] = [];
  private best = Infinity;
  private bestAt = 0;
  /** Since the last step, for the stall window: a step gets a full window to work. */
  private windowFrom = 0;
  private iteration = 0;
  private iterationStart?: number;
  private prevIterationStart?: number;
  private rampIndex = 0;
  private postcopy = false;
  /** migrate-postcopy sent, its answer not in yet: no steering meanwhile. */
  private switching = false;
  /** libvirt refused post-copy: the completion timeout aborts instead, as without it. */
  private postcopyRefused = false;
  private done = false;
  private readonly ramp: number[];

  constructor(readonly cfg: PolicyConfig) {
    this.ramp = DOWNTIME_RAMP.filter((ms) => ms <= cfg.maxDowntimeMs);
    if (this.ramp.length === 0 || this.ramp[this.ramp.length - 1] < cfg.maxDowntimeMs) this.ramp.push(cfg.maxDowntimeMs);
  }

  /** The downtime limit to set before the migration starts. */
  initialDowntimeMs(): number {
    return this.cfg.policy === 'converge' ? this.ramp[0] : this.cfg.maxDowntimeMs;
  }

  /** True once libvirt confirmed post-copy: the job must not be aborted any more (the guest would be lost). */
  get inPostcopy(): boolean {
    return this.postcopy;
  }

  /** A post-copy request is on its way: an abort now would race it, so it waits for the answer. */
  get switchingToPostcopy(): boolean {
    return this.switching;
  }

  /** libvirt's answer to migrate-postcopy: post-copy only when it said yes; else abort is back. */
  postcopyResult(ok: boolean): void {
    this.switching = false;
    if (ok) this.postcopy = true;
    else this.postcopyRefused = true;
  }

  /** The strategy that is finishing the migration so far. */
  strategy(autoConverge: boolean): string {
    if (this.postcopy) return 'postcopy';
    if (this.steps.some((s) => s.action.kind === 'set-downtime')) return 'raised-downtime';
    return autoConverge ? 'auto-converge' : 'precopy';
  }

  /** Feeds one sample; returns what to do now (usually nothing). */
  next(s: JobSample): Action[] {
    if (this.done || this.postcopy || this.switching) return [];
    const newIteration = s.iteration > this.iteration;
    if (newIteration) {
      this.prevIterationStart = this.iterationStart;
      this.iterationStart = s.remaining;
      this.iteration = s.iteration;
    }
    if (s.remaining < this.best * (1 - PROGRESS_FRACTION) || this.best === Infinity) {
      this.best = s.remaining;
      this.bestAt = s.t;
    }
    const out = this.decide(s, newIteration);
    for (const a of out) this.steps.push({ t: s.t, action: a });
    return out;
  }

  private decide(s: JobSample, newIteration: boolean): Action[] {
    const { policy, completionTimeoutS, progressTimeoutS } = this.cfg;
    const postcopyOk = !this.postcopyRefused;
    if (policy === 'postcopy' && postcopyOk && s.iteration >= 2) return [this.toPostcopy('first full pass done')];
    if (s.t >= completionTimeoutS) {
      if (policy === 'converge' && this.cfg.allowPostcopy && postcopyOk) return [this.toPostcopy(`completion timeout (${completionTimeoutS} s)`)];
      return [this.abort(`completion timeout: not done after ${completionTimeoutS} s`)];
    }
    if (s.t - this.bestAt >= progressTimeoutS) return [this.abort(`progress timeout: no progress for ${progressTimeoutS} s`)];
    if (policy !== 'converge') return [];
    const stall = this.stalled(s, newIteration);
    return stall ? this.onStall(stall, s, postcopyOk) : [];
  }

  private onStall(stall: string, s: JobSample, postcopyOk: boolean): Action[] {
    this.windowFrom = s.t;
    if (this.rampIndex + 1 < this.ramp.length) {
      this.rampIndex++;
      return [{ kind: 'set-downtime', ms: this.ramp[this.rampIndex], why: stall }];
    }
    if (this.cfg.allowPostcopy && postcopyOk) return [this.toPostcopy(`${stall}; downtime already at ${this.ramp[this.rampIndex]} ms`)];
    return []; // the ramp is spent: the completion timeout decides
  }

  /** Why the migration is stalling now, or undefined. */
  private stalled(s: JobSample, newIteration: boolean): string | undefined {
    const notSmaller = this.prevIterationStart !== undefined && this.iterationStart! >= this.prevIterationStart * (1 - PROGRESS_FRACTION);
    if (newIteration && notSmaller && s.t - this.windowFrom >= 1) {
      return `pass ${s.iteration} is not smaller than pass ${s.iteration - 1}`;
    }
    const since = Math.max(this.bestAt, this.windowFrom);
    if (s.t - since >= this.cfg.stallWindowS) return `data remaining not falling for ${this.cfg.stallWindowS} s`;
    return undefined;
  }

  private toPostcopy(why: string): Action {
    this.switching = true;
    return { kind: 'postcopy', why };
  }

  private abort(why: string): Action {
    this.done = true;
    return { kind: 'abort', why };
  }
}

/** `100 ms at 6.2 s (data remaining not falling for 5 s)`, for reports. */
export function formatStep(s: PolicyStep): string {
  const a = s.action;
  const what = a.kind === 'set-downtime' ? `downtime ${a.ms} ms` : a.kind;
  return `${what} at ${s.t.toFixed(1)} s (${a.why})`;
}

/** Seconds a pre-copy would take: one pass of the memory, then the dirty working set shrinking geometrically. */
export function estimateSeconds(memoryBytes: number, bandwidthBps: number, dirtyBps: number): number | undefined {
  if (!(bandwidthBps > 0)) return undefined;
  if (dirtyBps >= bandwidthBps) return Infinity;
  // Each pass sends what the previous one let the guest dirty: a geometric series.
  return memoryBytes / (bandwidthBps - dirtyBps);
}
