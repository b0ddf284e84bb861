// The one-line answer to "is the fleet in sync?", and the counts behind it.
import type { Change } from '../module/contract.js';
import type { RunRecord } from '../results.js';
import { hostRows, stateChanges } from './verdict.js';

export interface RunSummary {
  hosts: number;
  inSync: number;
  /** Hosts with at least one drifted task (check mode). */
  drifted: number;
  /** Hosts a normal run changed. */
  changed: number;
  unreachable: number;
  /** Hosts with at least one failed task. */
  failed: number;
  /** Hosts with tasks whose state is unknown (not run, cannot preview), unreachable ones included. */
  unknown: number;
  /** Differences found (check) or changes made (run), over all hosts. */
  changes: number;
  /** "3/40 hosts drifted: hv07 eth1 mtu 1500 → 9000, hv12 ..., 1 unreachable" */
  line: string;
}

/** How many differences the line names before "… and N more". */
const LINE_ITEMS = 5;

const fmtValue = (v: unknown) => (v === undefined || v === null ? '(absent)' : typeof v === 'string' ? (/^[^\s']+$/.test(v) ? v : `'${v}'`) : JSON.stringify(v));

/** `hv07 eth1 mtu 1500 → 9000` */
export function shortChange(host: string, c: Change): string {
  return c.message !== undefined ? `${host} ${c.path}: ${c.message}` : `${host} ${c.path} ${fmtValue(c.from)} → ${fmtValue(c.to)}`;
}

export function summarize(record: RunRecord): RunSummary {
  const all = hostRows(record);
  const s = { hosts: all.length, inSync: 0, drifted: 0, changed: 0, unreachable: 0, failed: 0, unknown: 0, changes: 0 };
  const items: string[] = [];
  for (const h of all) {
    const counted = h.rows.filter((r) => r.verdict === (record.check ? 'drift' : 'changed'));
    const changes = counted.flatMap((r) => (record.check ? stateChanges(r.event!.result.changes) : r.event!.result.changes));
    s.changes += changes.length;
    items.push(...changes.map((c) => shortChange(h.host, c)));
    if (h.rows.some((r) => r.verdict === 'drift')) s.drifted++;
    if (h.rows.some((r) => r.verdict === 'changed')) s.changed++;
    if (h.record.unreachable !== undefined) s.unreachable++;
    if (h.rows.some((r) => r.verdict === 'error')) s.failed++;
    if (h.record.unreachable !== undefined || h.rows.some((r) => r.verdict === 'unknown')) s.unknown++;
    if (h.verdict === 'in-sync') s.inSync++;
  }
  const n = record.check ? s.drifted : s.changed;
  let line = `${n}/${s.hosts} hosts ${record.check ? 'drifted' : 'changed'}`;
  if (items.length) {
    const shown = items.slice(0, LINE_ITEMS);
    if (items.length > LINE_ITEMS) shown.push(`… and ${items.length - LINE_ITEMS} more`);
    line += `: ${shown.join(', ')}`;
  }
  const tail: string[] = [];
  if (s.unreachable) tail.push(`${s.unreachable} unreachable`);
  if (s.failed) tail.push(`${s.failed} failed`);
  const otherUnknown = all.filter((h) => h.record.unreachable === undefined && h.verdict === 'unknown').length;
  if (otherUnknown) tail.push(`${otherUnknown} unknown`);
  if (tail.length) line += `; ${tail.join(', ')}`;
  if (record.interrupted) line = `interrupted by ${record.interrupted}: ${line}`;
  return { ...s, line };
}
