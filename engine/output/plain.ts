// Line-per-event output for pipes, cron and CI: stable, greppable, no cursor tricks.
import type { ChalkInstance } from 'chalk';
import type { RunObserver } from '../runner/events.js';
import { colorFor, detailLines, statusWord, unifiedDiffs } from './format.js';

export interface RendererOptions {
  verbose: boolean;
  diff: boolean;
  /** Show hosts whose task was ok/skipped too (off for `play check`: drift only). */
  showUnchanged: boolean;
  write(line: string): void;
  chalk: ChalkInstance;
}

/** Plain output shows a task's live progress at most this often per host (logs stay short). */
const PROGRESS_EVERY_MS = 5000;

export function plainRenderer(o: RendererOptions): RunObserver {
  const c = o.chalk;
  const lastProgress = new Map<string, number>();
  return {
    playStart(play, hosts) {
      o.write(c.bold(`\nPLAY [${play.name}] ${hosts.length} host${hosts.length === 1 ? '' : 's'}`));
    },
    taskStart(_play, name, hosts, handler) {
      if (o.verbose || hosts.length > 0) o.write(c.bold(`${handler ? 'HANDLER' : 'TASK'} [${name}]`));
    },
    hostTaskProgress(host, _task, line) {
      const now = Date.now();
      if (now - (lastProgress.get(host) ?? 0) < PROGRESS_EVERY_MS) return;
      lastProgress.set(host, now);
      o.write(c.dim(`  … ${host}: ${line}`));
    },
    hostTaskDone(ev) {
      lastProgress.delete(ev.host);
      const r = ev.result;
      const quiet = !o.showUnchanged && !o.verbose && (r.status === 'ok' || r.status === 'skipped') && r.warnings.length === 0;
      if (quiet) return;
      const color = colorFor(c, r);
      const took = o.verbose ? c.gray(` (${r.durationMs} ms)`) : '';
      o.write(`  ${color(`${statusWord(r)}: ${ev.host}`)}${took}`);
      for (const l of detailLines(r, o.verbose)) o.write(`      ${l}`);
      if (o.diff) for (const d of unifiedDiffs(r)) for (const l of d.split('\n')) o.write(`      ${colorDiff(c, l)}`);
    },
    warning(m) {
      o.write(c.magenta(`[WARNING] ${m}`));
    },
    verbose(line) {
      if (o.verbose) o.write(c.gray(line));
    },
  };
}

function colorDiff(c: ChalkInstance, l: string): string {
  if (l.startsWith('+') && !l.startsWith('+++')) return c.green(l);
  if (l.startsWith('-') && !l.startsWith('---')) return c.red(l);
  if (l.startsWith('@@')) return c.cyan(l);
  return l;
}
