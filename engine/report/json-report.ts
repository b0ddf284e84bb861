// The `json=PATH` report: the run record with verdicts, in the versioned docs/report-schema.json shape.
import { resolve } from 'node:path';
import type { Change } from '../module/contract.js';
import type { HostStats, RunRecord, TaskStatus } from '../results.js';
import { sanitizeChange } from './sanitize.js';
import { summarize, type RunSummary } from './summary.js';
import { hostRows, type Verdict } from './verdict.js';
import type { DriftDiff, DriftItem } from './drift-diff.js';

/** Bump when a consumer of the old shape would break; docs/report-schema.json pins it. */
export const REPORT_VERSION = 1;

export interface TaskReport {
  play: string;
  task: string;
  module: string;
  source?: string;
  /** Absent for a task the host never reached. */
  status?: TaskStatus;
  verdict: Verdict;
  reason?: string;
  changes: Change[];
  messages: string[];
  warnings: string[];
  startedAt?: string;
  durationMs?: number;
  /** The module's figures (a migration's total_s, downtime_ms …), when it measured any. */
  metrics?: Record<string, number | string>;
}

export interface HostReport {
  name: string;
  verdict: Verdict;
  reason?: string;
  unreachable?: string;
  stats: HostStats;
  tasks: TaskReport[];
}

export interface JsonReport {
  reportVersion: typeof REPORT_VERSION;
  tool: 'play';
  toolVersion: string;
  command: RunRecord['command'];
  check: boolean;
  playbook: string;
  inventory: string[];
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Set when the run was interrupted (SIGINT, SIGTERM): the report holds what ran until then. */
  interrupted?: string;
  exitCode: number;
  summary: RunSummary;
  hosts: HostReport[];
  /** `--since-last`: what drifted since the previous check (null when none is recorded). */
  sinceLast?: SinceLastReport | null;
}

interface DriftItemReport {
  host: string;
  play: string;
  task: string;
  change: Change;
}

export interface SinceLastReport {
  previousAt: string;
  added: DriftItemReport[];
  resolved: DriftItemReport[];
  still: DriftItemReport[];
  unknown: Array<DriftItemReport & { reason: string }>;
}

const itemReport = (i: DriftItem): DriftItemReport => ({ host: i.host, play: i.play, task: i.task, change: sanitizeChange(i.change) });

function sinceLastReport(d: DriftDiff): SinceLastReport {
  return {
    previousAt: d.previousAt,
    added: d.added.map(itemReport),
    resolved: d.resolved.map(itemReport),
    still: d.still.map((x) => itemReport(x.current)),
    unknown: d.unknown.map((u) => ({ ...itemReport(u.previous), reason: u.reason })),
  };
}

export function toJsonReport(record: RunRecord, sinceLast?: DriftDiff | null): JsonReport {
  const hosts = hostRows(record).map((h): HostReport => ({
    name: h.host,
    verdict: h.verdict,
    ...(h.reason !== undefined ? { reason: h.reason } : {}),
    ...(h.record.unreachable !== undefined ? { unreachable: h.record.unreachable } : {}),
    stats: { ...h.record.stats },
    tasks: h.rows.map((r): TaskReport => {
      const res = r.event?.result;
      return {
        play: r.play,
        task: r.task,
        module: r.module,
        ...(r.source !== undefined ? { source: r.source } : {}),
        ...(res ? { status: res.status } : {}),
        verdict: r.verdict,
        ...(r.reason !== undefined ? { reason: r.reason } : {}),
        changes: (res?.changes ?? []).map(sanitizeChange),
        messages: res?.msg !== undefined ? [res.msg] : [],
        warnings: [...(res?.warnings ?? [])],
        ...(r.event ? { startedAt: r.event.startedAt, durationMs: res!.durationMs } : {}),
        ...(res?.metrics ? { metrics: { ...res.metrics } } : {}),
      };
    }),
  }));
  return {
    reportVersion: REPORT_VERSION,
    tool: 'play',
    toolVersion: record.toolVersion,
    command: record.command,
    check: record.check,
    playbook: record.playbook,
    // The record holds the paths as given on the command line; the schema promises resolved ones.
    inventory: record.inventory.map((i) => resolve(i)),
    startedAt: record.startedAt,
    endedAt: record.endedAt,
    durationMs: record.durationMs,
    ...(record.interrupted !== undefined ? { interrupted: record.interrupted } : {}),
    exitCode: record.exitCode,
    summary: summarize(record),
    hosts,
    ...(sinceLast !== undefined ? { sinceLast: sinceLast && sinceLastReport(sinceLast) } : {}),
  };
}

export const renderJsonReport = (record: RunRecord, sinceLast?: DriftDiff | null): string => JSON.stringify(toJsonReport(record, sinceLast), null, 2) + '\n';
