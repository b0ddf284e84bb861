// What `play run`/`play check` do after the run (summary, reports, history, --since-last), and the
// `play drift diff` and `play schedule` commands, on top of engine/report.
import type { ChalkInstance } from 'chalk';
import { resolve } from 'node:path';
import { PlayError } from '../errors.js';
import type { RunRecord } from '../results.js';
import { wrapWords } from '../output/format.js';
import { rootPath } from '../paths.js';
import {
  defaultStateDir,
  driftDiff,
  formatDriftDiff,
  installSchedule,
  loadRuns,
  parseReportSpecs,
  renderSchedule,
  saveRun,
  summarize,
  writeReports,
  type ReportSpec,
} from './index.js';

export interface AfterRunOptions {
  reports: ReportSpec[];
  stateDir?: string;
  sinceLast: boolean;
  write(line: string): void;
  chalk: ChalkInstance;
  /** Terminal width (undefined when not a terminal: one line per message). */
  columns?: number;
}

/** Parsed before the run, so a bad --report never costs a fleet-wide run. */
export const parseReports = (specs: string[]): ReportSpec[] => parseReportSpecs(specs);

export async function runCheckExtras(record: RunRecord, o: AfterRunOptions): Promise<void> {
  const s = summarize(record);
  const color = s.failed || s.unreachable ? o.chalk.red : (record.check ? s.drifted : s.changed) ? o.chalk.yellow : o.chalk.green;
  // On a terminal the summary wraps between words (the terminal would cut them in two).
  for (const row of wrapWords(s.line.split(' '), o.columns ?? Infinity)) o.write(color(row));
  const stateDir = o.stateDir ?? defaultStateDir();
  // An interrupted check saw only part of the fleet: never the baseline of a comparison.
  const previous = o.sinceLast ? loadRuns(stateDir, record.playbook, record.inventory).find((r) => r.check === record.check && !r.interrupted) : undefined;
  // History first: a report that fails to write must not cost the record of the run.
  saveRun(stateDir, record);
  const since = o.sinceLast ? (previous ? driftDiff(previous, record) : null) : undefined;
  for (const path of writeReports(record, o.reports, since)) o.write(o.chalk.gray(`report written: ${path}`));
  if (since === null) o.write('since last check: no earlier check of this playbook and inventory is recorded');
  // formatDriftDiff's first line already says since when.
  else if (since) o.write(formatDriftDiff(since));
}

export async function driftDiffCommand(playbook: string, inventories: string[], stateDir: string | undefined, write: (l: string) => void): Promise<number> {
  // historyKey resolves the paths, so relative and absolute spellings share one history.
  const runs = loadRuns(stateDir ?? defaultStateDir(), playbook, inventories).filter((r) => r.check && !r.interrupted);
  if (runs.length < 2) {
    throw new PlayError(`drift diff needs two recorded checks of ${playbook} with this inventory; found ${runs.length} (run 'play check' twice)`);
  }
  const [current, previous] = runs;
  write(`latest check: ${current.startedAt}`);
  const d = driftDiff(previous, current);
  write(formatDriftDiff(d));
  // Like `play check`: 2 when something new drifted, so a timer can alert on the change itself.
  return d.added.length > 0 ? 2 : 0;
}

export async function scheduleCommand(
  o: {
    playbook: string;
    inventories: string[];
    every: string;
    report: string[];
    stateDir?: string;
    install?: boolean;
    user?: string;
    timeout?: string;
    limit?: string;
    tags?: string[];
    skipTags?: string[];
    extraVars?: string[];
  },
  write: (l: string) => void,
): Promise<number> {
  const schedule = renderSchedule({
    playbook: resolve(o.playbook),
    inventory: o.inventories.map((i) => resolve(i)),
    every: o.every,
    reports: parseReportSpecs(o.report).map((r) => ({ ...r, path: resolve(r.path) })),
    stateDir: resolve(o.stateDir ?? defaultStateDir()),
    workingDir: rootPath(),
    playCommand: [process.execPath, rootPath('dist', 'engine', 'cli.js')],
    user: o.user,
    timeout: o.timeout,
    limit: o.limit,
    tags: o.tags,
    skipTags: o.skipTags,
    extraVars: o.extraVars,
  });
  if (o.install) {
    const done = installSchedule(schedule);
    write(`installed ${done.servicePath} and ${done.timerPath}; now run: ${done.enable}`);
    return 0;
  }
  write(`# ${schedule.serviceName}\n${schedule.service}`);
  write(`# ${schedule.timerName}\n${schedule.timer}`);
  write(`# or, without systemd, this cron line:\n${schedule.cron}`);
  return 0;
}
