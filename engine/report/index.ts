// Reports, history, drift diff and schedules: what the CLI calls after (or instead of) a run.
//
//   const specs = parseReportSpecs(opts.report);            // before the run: bad specs fail early
//   const record = await runPlaybook(...);
//   const stateDir = opts.stateDir ?? defaultStateDir();
//   const previous = loadRuns(stateDir, record.playbook, record.inventory)[0];  // newest first
//   saveRun(stateDir, record);                              // keeps the last DEFAULT_KEEP (20)
//   writeReports(record, specs);
//   print(summarize(record).line);
//   if (sinceLast && previous) print(formatDriftDiff(driftDiff(previous, record)));
//
//   play drift diff:  const [cur, prev] = loadRuns(stateDir, playbookFile, inventoryPaths);
//   play schedule:    const s = renderSchedule({...}); print(s.service, s.timer, s.cron) or installSchedule(s)
//
// Pass the resolved playbook file and inventory paths (what the RunRecord holds) to loadRuns.
export { verdictOf, hostRows, stateChanges, type Verdict, type VerdictInfo, type TaskRow, type HostRows } from './verdict.js';
export { summarize, shortChange, type RunSummary } from './summary.js';
export { sanitizeRecord } from './sanitize.js';
export { toJsonReport, renderJsonReport, REPORT_VERSION, type JsonReport, type HostReport, type TaskReport } from './json-report.js';
export { renderJunit } from './junit.js';
export { renderPrometheus } from './prometheus.js';
export { parseReportSpec, parseReportSpecs, renderReport, writeReports, REPORT_FORMATS, type ReportFormat, type ReportSpec } from './write.js';
export { writeFileAtomic } from './atomic-write.js';
export { defaultStateDir, historyKey, historyDir, saveRun, loadRuns, DEFAULT_KEEP, type HistoryKey } from './history.js';
export { driftDiff, formatDriftDiff, type DriftDiff, type DriftItem } from './drift-diff.js';
export { parseEvery } from './every.js';
export { renderSchedule, installSchedule, LOCK_BUSY_EXIT, type ScheduleOptions, type Schedule, type InstalledSchedule } from './schedule.js';
