// What may leave the process: registered data can hold secrets and file contents can be large,
// so reports and history keep changes as path/from/to and drop the rest.
import type { Change } from '../module/contract.js';
import type { RunRecord, TaskResult } from '../results.js';

export function sanitizeChange(c: Change): Change {
  const out: Change = { path: c.path };
  if (c.from !== undefined) out.from = c.from;
  if (c.to !== undefined) out.to = c.to;
  if (c.message !== undefined) out.message = c.message;
  if (c.disruptive) out.disruptive = true;
  if (c.action) out.action = true;
  return out;
}

export function sanitizeResult(r: TaskResult): TaskResult {
  const out: TaskResult = { status: r.status, changes: r.changes.map(sanitizeChange), warnings: [...r.warnings], check: r.check, durationMs: r.durationMs };
  if (r.msg !== undefined) out.msg = r.msg;
  if (r.ignored) out.ignored = true;
  if (r.rescued) out.rescued = true;
  return out;
}

/** A deep copy of the record without `data`, `diffs` or full file contents. */
export function sanitizeRecord(record: RunRecord): RunRecord {
  const hosts: RunRecord['hosts'] = {};
  for (const [name, h] of Object.entries(record.hosts)) {
    hosts[name] = {
      stats: { ...h.stats },
      ...(h.unreachable !== undefined ? { unreachable: h.unreachable } : {}),
      tasks: h.tasks.map((t) => ({ ...t, result: sanitizeResult(t.result) })),
    };
  }
  return { ...record, inventory: [...record.inventory], hosts };
}
