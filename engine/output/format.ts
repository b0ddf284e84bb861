// Text shared by every renderer: status words, change lines, unified diffs, the recap table.
import type { ChalkInstance } from 'chalk';
import { createTwoFilesPatch } from 'diff';
import { formatChange } from '../module/contract.js';
import type { HostRecord, TaskResult } from '../results.js';

export function statusWord(r: TaskResult): string {
  if (r.status === 'changed' && r.check) return 'would change';
  if (r.status === 'failed' && r.ignored) return 'failed (ignored)';
  if (r.status === 'failed' && r.rescued) return 'failed (rescued)';
  return r.status;
}

export function colorFor(c: ChalkInstance, r: TaskResult): (s: string) => string {
  switch (r.status) {
    case 'ok':
      return c.green;
    case 'changed':
      return c.yellow;
    case 'skipped':
      return c.cyan;
    case 'unreachable':
      return c.magenta;
    case 'failed':
      return r.ignored || r.rescued ? c.gray : c.red;
  }
}

/** The lines under a host's status: each change, the task's figures, warnings, the message. */
export function detailLines(r: TaskResult, verbose: boolean): string[] {
  const lines = r.changes.map(formatChange);
  if (r.metrics && Object.keys(r.metrics).length) lines.push(metricsLine(r.metrics));
  for (const w of r.warnings) lines.push(`warning: ${w}`);
  if (r.msg && (r.status === 'failed' || r.status === 'unreachable' || verbose || (r.status === 'ok' && r.changes.length === 0 && r.msg))) {
    if (!(r.status === 'skipped' && !verbose)) lines.push(...r.msg.split('\n'));
  }
  return lines;
}

/** `metrics: total_s=4.1 downtime_ms=65 strategy=precopy` */
export function metricsLine(m: Record<string, number | string>): string {
  const fmt = (v: number | string) => (typeof v === 'number' ? String(Number.isInteger(v) ? v : Number(v.toFixed(3))) : /\s/.test(v) ? JSON.stringify(v) : v);
  return `metrics: ${Object.entries(m).map(([k, v]) => `${k}=${fmt(v)}`).join(' ')}`;
}

export function unifiedDiffs(r: TaskResult): string[] {
  return (r.diffs ?? []).map((d) =>
    d.omitted ? `diff of ${d.path} omitted: ${d.omitted}` : createTwoFilesPatch(`${d.path} (before)`, `${d.path} (after)`, d.before, d.after, undefined, undefined, { context: 3 }),
  );
}

export function recapLines(c: ChalkInstance, hosts: Record<string, HostRecord>, durationMs: number, columns = Infinity): string[] {
  const names = Object.keys(hosts);
  const width = Math.max(4, ...names.map((n) => n.length));
  const lines = [c.bold(`PLAY RECAP (${names.length} host${names.length === 1 ? '' : 's'}, ${(durationMs / 1000).toFixed(2)} s)`)];
  for (const n of names) {
    const s = hosts[n].stats;
    const color = s.failed || s.unreachable ? c.red : s.changed ? c.yellow : c.green;
    const fields = [`ok=${s.ok}`, `changed=${s.changed}`, `unreachable=${s.unreachable}`, `failed=${s.failed}`, `skipped=${s.skipped}`, `rescued=${s.rescued}`, `ignored=${s.ignored}`];
    // A narrow terminal gets the counts on more lines, split between fields, never inside one.
    const rows = wrapWords(fields, columns - width - 2, '  ');
    rows.forEach((row, i) => lines.push(`${i === 0 ? color(n.padEnd(width)) : ' '.repeat(width)}  ${row}`));
  }
  return lines;
}

/**
 * Words joined by `sep` into rows of at most `width` characters (a word longer than that gets a
 * row of its own): a terminal that wraps by itself cuts a word in two.
 */
export function wrapWords(words: string[], width: number, sep = ' '): string[] {
  const rows: string[] = [];
  let row = '';
  for (const w of words) {
    if (row !== '' && row.length + sep.length + w.length > width) {
      rows.push(row);
      row = w;
    } else row = row === '' ? w : row + sep + w;
  }
  if (row !== '' || rows.length === 0) rows.push(row);
  return rows;
}
