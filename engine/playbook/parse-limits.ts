// The concurrency keywords of a task: `throttle: N` (Ansible's per-task cap), `limits:` (keyed caps
// shared by every task, host and loop item naming the same key), and `loop_control.parallel` /
// `loop_control.break_when`. Literal values are checked here; templates when rendered.
import type { SourcePos } from '../errors.js';
import type { LimitSpec, TaskConcurrency } from './types.js';
import { isDict, type Dict, type Reader } from './reader.js';

export const CONCURRENCY_KEYWORDS = ['throttle', 'limits'];
export const LOOP_CONTROL_CONCURRENCY = ['parallel', 'break_when'];

const isTemplate = (v: unknown): v is string => typeof v === 'string' && v.includes('{{');

/** A cap: a positive integer, or a template rendering to one. */
function capOf(r: Reader, v: unknown, pos: SourcePos, what: string): number | string | undefined {
  if (v === undefined || v === null) return undefined;
  if (isTemplate(v)) return v;
  const n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1) return n;
  r.add(pos, `${what}: expected a positive integer (or a template giving one), got ${JSON.stringify(v)}`);
  return undefined;
}

function limitList(r: Reader, node: Dict): LimitSpec[] {
  const list = r.list(node, 'limits');
  if (!list) return [];
  const out: LimitSpec[] = [];
  list.forEach((item, i) => {
    const pos = r.at(list, i);
    if (!isDict(item)) {
      r.add(pos, `limits[${i}]: expected {key: NAME, max: N}, got ${JSON.stringify(item)}`);
      return;
    }
    r.unknownKeys(item, ['key', 'max'], `limits[${i}] field`);
    const key = item.key;
    if (typeof key !== 'string' || key.trim() === '') {
      r.add(item.key === undefined ? pos : r.at(item, 'key'), `limits[${i}].key: expected a non-empty key name (e.g. "src-{{ inventory_hostname }}"), got ${JSON.stringify(key)}`);
      return;
    }
    if (item.max === undefined || item.max === null) {
      r.add(pos, `limits[${i}].max: missing: how many may hold '${key}' at once`);
      return;
    }
    const max = capOf(r, item.max, r.at(item, 'max'), `limits[${i}].max`);
    if (max !== undefined) out.push({ key, max, pos });
  });
  return out;
}

/** The task's concurrency settings, or undefined when it has none (the common case). */
export function readConcurrency(r: Reader, node: Dict, conditions: (r: Reader, node: Dict, key: string) => Array<string | boolean> | undefined): TaskConcurrency | undefined {
  const lc = isDict(node.loop_control) ? node.loop_control : undefined;
  const throttle = capOf(r, node.throttle, r.at(node, 'throttle'), 'throttle');
  const limits = limitList(r, node);
  const loopParallel = lc ? capOf(r, lc.parallel, r.at(lc, 'parallel'), 'loop_control.parallel') : undefined;
  const breakWhen = lc ? conditions(r, lc, 'break_when') : undefined;
  if (lc && (lc.parallel !== undefined || lc.break_when !== undefined) && node.loop === undefined && node.with_items === undefined) {
    r.add(r.at(node, 'loop_control'), `loop_control: parallel and break_when need a loop on the task`);
  }
  if (throttle === undefined && limits.length === 0 && loopParallel === undefined && breakWhen === undefined) return undefined;
  return { throttle, limits, loopParallel, breakWhen };
}
