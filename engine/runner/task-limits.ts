// A task's concurrency settings rendered for one host or loop item: the keyed slots it must hold
// (limits: and throttle:) and how many of its loop items may run at once.
import type { Task } from '../playbook/types.js';
import { PlayError, formatPos, type SourcePos } from '../errors.js';
import { renderString, type TemplateOrigin } from '../lang/template.js';
import type { LimitRegistry, LimitSlot } from './limits.js';

type Where = (field: string) => TemplateOrigin;

/** Run-unique ids of tasks, for their throttle key (the same Task object on every host). */
const taskIds = new WeakMap<Task, number>();
let lastId = 0;

function throttleKey(task: Task): string {
  let id = taskIds.get(task);
  if (id === undefined) {
    id = ++lastId;
    taskIds.set(task, id);
  }
  return `throttle:${id}:${formatPos(task.pos)}`;
}

/** A cap as rendered: a positive integer, or a failure naming where it was written. */
export function capValue(v: number | string, vars: Record<string, unknown>, where: Where, field: string, pos: SourcePos): number {
  const out = typeof v === 'number' ? v : renderString(v, vars, where(field));
  const n = typeof out === 'string' && /^\s*\d+\s*$/.test(out) ? Number(out) : out;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1) return n;
  throw new PlayError(`${formatPos(pos)}: ${field}: expected a positive integer, '${String(v)}' gave ${JSON.stringify(out)}`);
}

/** The slots one run of the task (one host, one loop item) must hold: its keyed limits and its throttle. */
export function slotsFor(task: Task, vars: Record<string, unknown>, where: Where): LimitSlot[] {
  const cc = task.concurrency;
  if (!cc) return [];
  const slots = cc.limits.map((l, i) => {
    const key = renderString(l.key, vars, where('limits'));
    if ((typeof key !== 'string' && typeof key !== 'number') || String(key).trim() === '') {
      throw new PlayError(`${formatPos(l.pos)}: limits[${i}].key: '${l.key}' gave ${JSON.stringify(key)}, not a key name`);
    }
    return { key: String(key), max: capValue(l.max, vars, where, `limits[${i}].max`, l.pos) };
  });
  if (cc.throttle !== undefined) slots.push({ key: throttleKey(task), max: capValue(cc.throttle, vars, where, 'throttle', task.keyPos.throttle ?? task.pos) });
  return slots;
}

/** Runs `body` holding the task's slots (none: runs at once). */
export async function withSlots<T>(registry: LimitRegistry | undefined, slots: LimitSlot[], body: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!registry || slots.length === 0) return body();
  const release = await registry.acquire(slots, signal);
  try {
    return await body();
  } finally {
    release();
  }
}

/** How many loop items of one host run at once (1 unless loop_control.parallel says more). */
export function loopParallel(task: Task, vars: Record<string, unknown>, where: Where): number {
  const p = task.concurrency?.loopParallel;
  return p === undefined ? 1 : capValue(p, vars, where, 'loop_control.parallel', task.keyPos.loop_control ?? task.pos);
}
