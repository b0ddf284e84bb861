// The `prometheus=PATH` report: a node_exporter textfile-collector file (text exposition format).
import type { RunRecord } from '../results.js';
import { hostRows, stateChanges } from './verdict.js';

/** Label values: backslash, double quote and newline are the only escapes the format knows. */
export const promLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const promHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${promLabel(v)}"`)
    .join(',')}}`;

interface Family {
  name: string;
  help: string;
  samples: Array<{ labels: Record<string, string>; value: number }>;
}

export function renderPrometheus(record: RunRecord): string {
  const playbook = record.playbook;
  const fam = (name: string, help: string): Family => ({ name, help, samples: [] });
  const drift = fam('play_drift_changes', 'Differences between the host and the playbook found by the last run (check: pending; run: corrected by it).');
  const hostInSync = fam('play_host_in_sync', '1 when every task of the host was in sync at the last run, else 0.');
  const unreachable = fam('play_host_unreachable', '1 when the host could not be reached at the last run.');
  const errors = fam('play_host_failed_tasks', 'Tasks that failed on the host at the last run.');
  const unknown = fam('play_host_unknown_tasks', 'Tasks whose state is unknown on the host (not run, cannot preview, unreachable).');
  const taskInSync = fam('play_task_in_sync', '1 when the task was in sync on the host at the last run; 0 when it drifted, changed, failed or is unknown.');
  const taskMetrics = new Map<string, Family>();
  for (const h of hostRows(record)) {
    const base = { host: h.host, playbook };
    const n = h.rows.reduce((s, r) => s + (r.verdict === 'drift' ? stateChanges(r.event!.result.changes).length : r.verdict === 'changed' ? r.event!.result.changes.length : 0), 0);
    drift.samples.push({ labels: base, value: n });
    hostInSync.samples.push({ labels: base, value: h.verdict === 'in-sync' ? 1 : 0 });
    unreachable.samples.push({ labels: base, value: h.record.unreachable !== undefined ? 1 : 0 });
    errors.samples.push({ labels: base, value: h.rows.filter((r) => r.verdict === 'error').length });
    unknown.samples.push({ labels: base, value: h.rows.filter((r) => r.verdict === 'unknown').length });
    // Task names may repeat within a play: number the repeats so every series stays unique.
    const seen = new Map<string, number>();
    for (const r of h.rows) {
      const key = `${r.play}\0${r.task}`;
      const k = (seen.get(key) ?? 0) + 1;
      seen.set(key, k);
      const task = k > 1 ? `${r.task} (${k})` : r.task;
      taskInSync.samples.push({ labels: { host: h.host, play: r.play, task, playbook }, value: r.verdict === 'in-sync' ? 1 : 0 });
      const m = r.event?.result.metrics;
      if (m) addTaskMetrics(taskMetrics, r.module, m, { host: h.host, play: r.play, task, playbook });
    }
  }
  const run = { playbook };
  const last = fam('play_last_check_timestamp_seconds', 'When the last run of the playbook ended (Unix time).');
  last.samples.push({ labels: run, value: Date.parse(record.endedAt) / 1000 });
  const duration = fam('play_check_duration_seconds', 'How long the last run of the playbook took.');
  duration.samples.push({ labels: run, value: record.durationMs / 1000 });
  const mode = fam('play_last_run_check_mode', '1 when the last run was a check (nothing changed), 0 for a normal run.');
  mode.samples.push({ labels: run, value: record.check ? 1 : 0 });
  const exit = fam('play_last_exit_code', 'Exit code of the last run (check: 0 in sync, 2 drift, 4 errors or unreachable, 6 both).');
  exit.samples.push({ labels: run, value: record.exitCode });

  const out: string[] = [];
  for (const f of [drift, hostInSync, unreachable, errors, unknown, taskInSync, ...taskMetrics.values(), last, duration, mode, exit]) {
    out.push(`# HELP ${f.name} ${promHelp(f.help)}`, `# TYPE ${f.name} gauge`);
    for (const s of f.samples) out.push(`${f.name}${labels(s.labels)} ${s.value}`);
  }
  return out.join('\n') + '\n';
}

/** A metric name part: Prometheus allows [a-zA-Z0-9_] (and `:` for recording rules, not ours). */
const metricPart = (s: string) => s.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * A task's figures: a number is a `play_<module>_<key>` gauge in base units (downtime_ms →
 * downtime_seconds), a string (a strategy name) a `play_<module>_<key>_info` series with the
 * value as a label, always 1.
 */
function addTaskMetrics(families: Map<string, Family>, module: string, metrics: Record<string, number | string>, base: Record<string, string>): void {
  for (const [key, v] of Object.entries(metrics)) {
    const numeric = typeof v === 'number' && Number.isFinite(v);
    const unit = numeric ? baseUnit(metricPart(key)) : { key: metricPart(key), factor: 1 };
    const name = `play_${metricPart(module)}_${unit.key}${numeric ? '' : '_info'}`;
    let f = families.get(name);
    if (!f) {
      f = { name, help: `${module} task figure '${key}' at the last run${numeric ? '' : ' (the value is the label)'}.`, samples: [] };
      families.set(name, f);
    }
    f.samples.push(numeric ? { labels: base, value: (v as number) * unit.factor } : { labels: { ...base, value: String(v) }, value: 1 });
  }
}

/** Readable unit suffixes of a module's figures → Prometheus base units (seconds, bytes). */
const UNITS: Array<[suffix: string, base: string, factor: number]> = [
  ['_ms', '_seconds', 1e-3],
  ['_s', '_seconds', 1],
  ['_mibps', '_bytes_per_second', 1048576],
  ['_mib', '_bytes', 1048576],
  ['_kib', '_bytes', 1024],
];

function baseUnit(key: string): { key: string; factor: number } {
  for (const [suffix, unit, factor] of UNITS) if (key.endsWith(suffix)) return { key: key.slice(0, -suffix.length) + unit, factor };
  return { key, factor: 1 };
}
