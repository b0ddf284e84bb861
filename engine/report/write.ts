// `--report FORMAT=PATH`: parsing the option and writing every report of a run.
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import type { RunRecord } from '../results.js';
import { writeFileAtomic } from './atomic-write.js';
import { renderJsonReport } from './json-report.js';
import type { DriftDiff } from './drift-diff.js';
import { renderJunit } from './junit.js';
import { renderPrometheus } from './prometheus.js';

export const REPORT_FORMATS = ['json', 'junit', 'prometheus'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

export interface ReportSpec {
  format: ReportFormat;
  path: string;
}

const RENDERERS: Record<ReportFormat, (r: RunRecord, sinceLast?: DriftDiff | null) => string> = {
  json: renderJsonReport,
  junit: renderJunit,
  prometheus: renderPrometheus,
};

/** `sinceLast` (the --since-last comparison, null when there is no earlier check) goes into the JSON report. */
export function renderReport(record: RunRecord, format: ReportFormat, sinceLast?: DriftDiff | null): string {
  return RENDERERS[format](record, sinceLast);
}

/** `json=out/report.json` → {format: 'json', path: 'out/report.json'} (path kept as given). */
export function parseReportSpec(spec: string): ReportSpec {
  const bad = (why: string) => new ValidationError([{ pos: { file: '--report' }, message: `${why} in '${spec}' (expected FORMAT=PATH, FORMAT one of ${REPORT_FORMATS.join(', ')})` }]);
  const eq = spec.indexOf('=');
  if (eq < 0) throw bad('missing =');
  const format = spec.slice(0, eq).trim();
  const path = spec.slice(eq + 1);
  if (!(REPORT_FORMATS as readonly string[]).includes(format)) throw bad(format ? `unknown report format '${format}'` : 'missing format');
  if (path.trim() === '') throw bad('missing path');
  return { format: format as ReportFormat, path };
}

/** Every problem of every spec at once; two reports may not share a path. */
/**
 * Checked before the run, so a fleet-wide check is never lost to a report it cannot write:
 * the nearest existing directory must be a writable directory, and not a kernel filesystem.
 */
function whyNotWritable(abs: string): string | undefined {
  if (/^\/(proc|sys|dev)(\/|$)/.test(abs)) return `${dirname(abs)} is a kernel filesystem, not a place for reports`;
  let dir = dirname(abs);
  while (!existsSync(dir)) dir = dirname(dir);
  if (!statSync(dir).isDirectory()) return `${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `${dir} is not writable`;
  }
  if (existsSync(abs) && statSync(abs).isDirectory()) return `${abs} is a directory`;
  return undefined;
}

export function parseReportSpecs(specs: string[]): ReportSpec[] {
  const problems = [];
  const out: ReportSpec[] = [];
  const paths = new Map<string, string>();
  for (const s of specs) {
    try {
      const spec = parseReportSpec(s);
      const abs = resolve(spec.path);
      const unwritable = whyNotWritable(abs);
      if (unwritable) problems.push({ pos: { file: '--report' }, message: `'${s}': ${unwritable}` });
      const other = paths.get(abs);
      if (other) problems.push({ pos: { file: '--report' }, message: `'${s}' writes the same file as '${other}'` });
      paths.set(abs, s);
      out.push(spec);
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      problems.push(...e.problems);
    }
  }
  if (problems.length) throw new ValidationError(problems);
  return out;
}

/** Renders and writes each report atomically; returns the paths written. */
export function writeReports(record: RunRecord, specs: ReportSpec[], sinceLast?: DriftDiff | null): string[] {
  return specs.map((s) => {
    writeFileAtomic(s.path, renderReport(record, s.format, sinceLast));
    return s.path;
  });
}
