// What may leave the process: registered data can hold secrets and file contents can be large,
// so reports and history keep changes as path/from/to and drop the rest.
import type { Change } from '../module/contract.js';
import { randomBytes } from 'node:crypto';
import type { HostRecord, RunRecord, TaskResult } from '../results.js';

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

/** A deep copy of one host's record without `data`, `diffs` or full file contents. */
export function sanitizeHost(h: HostRecord): HostRecord {
  return {
    stats: { ...h.stats },
    ...(h.unreachable !== undefined ? { unreachable: h.unreachable } : {}),
    tasks: h.tasks.map((t) => ({ ...t, result: sanitizeResult(t.result) })),
  };
}

/** A deep copy of the record without `data`, `diffs` or full file contents. */
export function sanitizeRecord(record: RunRecord): RunRecord {
  const hosts: RunRecord['hosts'] = {};
  for (const [name, h] of Object.entries(record.hosts)) hosts[name] = sanitizeHost(h);
  return { ...record, inventory: [...record.inventory], hosts };
}

/**
 * `JSON.stringify(sanitizeRecord(record))` in pieces, one host at a time: a fleet's record is
 * never copied whole nor held as one string (10,000 hosts × 10 tasks: ~45 MB of JSON).
 */
export function* sanitizedRecordJson(record: RunRecord): Generator<string> {
  const marker = `@@hosts-${randomBytes(8).toString('hex')}@@`;
  const [head, tail] = JSON.stringify({ ...record, hosts: marker }).split(JSON.stringify(marker));
  yield `${head}{`;
  let first = true;
  for (const [name, h] of Object.entries(record.hosts)) {
    yield `${first ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(sanitizeHost(h))}`;
    first = false;
  }
  yield `}${tail}`;
}
