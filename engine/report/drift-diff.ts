// What drifted since the previous check: new, resolved and still-drifted differences,
// keyed by host + play + task + change path.
import type { Change } from '../module/contract.js';
import type { RunRecord } from '../results.js';
import { shortChange } from './summary.js';
import { hostRows, stateChanges, type HostRows } from './verdict.js';

export interface DriftItem {
  host: string;
  play: string;
  task: string;
  change: Change;
}

export interface DriftDiff {
  previousAt: string;
  currentAt: string;
  /** Drifted now, not before. */
  added: DriftItem[];
  /** Drifted before; now the task ran and the difference is gone. */
  resolved: DriftItem[];
  /** Drifted before and now (values may have moved). */
  still: Array<{ previous: DriftItem; current: DriftItem }>;
  /** Drifted before; now not known (host unreachable, task failed or not run). */
  unknown: Array<{ previous: DriftItem; reason: string }>;
}

const keyOf = (host: string, play: string, task: string, path: string) => JSON.stringify([host, play, task, path]);

function driftItems(all: HostRows[]): Map<string, DriftItem> {
  const out = new Map<string, DriftItem>();
  for (const h of all) {
    for (const r of h.rows) {
      if (r.verdict !== 'drift') continue;
      for (const change of stateChanges(r.event!.result.changes)) out.set(keyOf(h.host, r.play, r.task, change.path), { host: h.host, play: r.play, task: r.task, change });
    }
  }
  return out;
}

/** Why a previously drifted item is not known now, or undefined when the task ran (in sync or drifted). */
function unknownNow(all: HostRows[], item: DriftItem): string {
  const h = all.find((x) => x.host === item.host);
  if (!h) return 'host not in the current run';
  const rows = h.rows.filter((r) => r.play === item.play && r.task === item.task);
  if (rows.length === 0) return 'task not in the current run';
  const bad = rows.find((r) => r.verdict === 'unknown' || r.verdict === 'error');
  if (bad && !rows.some((r) => r.verdict === 'in-sync' || r.verdict === 'drift')) return bad.reason ?? bad.verdict;
  return '';
}

export function driftDiff(previous: RunRecord, current: RunRecord): DriftDiff {
  const prevRows = hostRows(previous);
  const curRows = hostRows(current);
  const before = driftItems(prevRows);
  const now = driftItems(curRows);
  const d: DriftDiff = { previousAt: previous.startedAt, currentAt: current.startedAt, added: [], resolved: [], still: [], unknown: [] };
  for (const [k, item] of now) {
    const prev = before.get(k);
    if (prev) d.still.push({ previous: prev, current: item });
    else d.added.push(item);
  }
  for (const [k, item] of before) {
    if (now.has(k)) continue;
    const why = unknownNow(curRows, item);
    if (why) d.unknown.push({ previous: item, reason: why });
    else d.resolved.push(item);
  }
  return d;
}

/**
 * drift since 2026-11-24T08:00:00.000Z: 1 new, 1 resolved, 1 still drifted, 0 unknown
 *   + hv1 eth1 mtu 1500 → 9000  [Tune NICs]
 *   - hv2 runtime vm.swappiness 60 → 10  [Sysctl]
 *   = hv3 ...
 *   ? hv4 ... (now unknown: host unreachable: ...)
 */
export function formatDriftDiff(d: DriftDiff): string {
  const lines = [`drift since ${d.previousAt}: ${d.added.length} new, ${d.resolved.length} resolved, ${d.still.length} still drifted, ${d.unknown.length} unknown`];
  const line = (mark: string, i: DriftItem, extra = '') => `  ${mark} ${shortChange(i.host, i.change)}  [${i.task}]${extra}`;
  for (const i of d.added) lines.push(line('+', i));
  for (const i of d.resolved) lines.push(line('-', i));
  for (const s of d.still) lines.push(line('=', s.current));
  for (const u of d.unknown) lines.push(line('?', u.previous, ` (now unknown: ${u.reason})`));
  return lines.join('\n');
}
