// What a run produces: per host, per task results, and the run record that reports are made from.
import type { Change, Metrics } from './module/contract.js';
import { constants as osConstants } from 'node:os';

export type TaskStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable';

export interface TaskResult {
  status: TaskStatus;
  /** Changes made, or (in check mode) pending. */
  changes: Change[];
  /** Failure reason, skip reason, or a debug message. */
  msg?: string;
  warnings: string[];
  /** Data for `register` (command output, stat); never written to reports. */
  data?: Record<string, unknown>;
  /** A failure that `ignore_errors` let pass. */
  ignored?: boolean;
  /** A failure handled by a block's rescue. */
  rescued?: boolean;
  /** True when the result comes from check mode (changes are pending, not made). */
  check: boolean;
  durationMs: number;
  /** Unified diffs for --diff (file content before/after). */
  diffs?: Array<{ path: string; before: string; after: string; omitted?: string }>;
  /** The module's figures (ApplyOutcome.metrics): JSON report, Prometheus textfile, terminal. */
  metrics?: Metrics;
}

export interface TaskEvent {
  play: string;
  task: string;
  module: string;
  /** file:line of the task in the playbook. */
  source?: string;
  host: string;
  startedAt: string;
  result: TaskResult;
}

export interface HostStats {
  ok: number;
  changed: number;
  failed: number;
  skipped: number;
  unreachable: number;
  rescued: number;
  ignored: number;
}

export interface HostRecord {
  stats: HostStats;
  /** Set when the host could not be reached: the reason. */
  unreachable?: string;
  tasks: TaskEvent[];
}

export interface RunRecord {
  schemaVersion: 1;
  tool: 'play';
  toolVersion: string;
  command: 'run' | 'check';
  playbook: string;
  inventory: string[];
  check: boolean;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  hosts: Record<string, HostRecord>;
  /** Set when the run was interrupted: the signal (SIGINT, SIGTERM); the record holds what ran. */
  interrupted?: string;
  exitCode: number;
}

/** The signal name an interruption carries as its reason (InterruptedError.signalName), else SIGINT. */
export function interruptName(signal: AbortSignal): string {
  const r = signal.reason as { signalName?: unknown } | undefined;
  return typeof r?.signalName === 'string' ? r.signalName : 'SIGINT';
}

/** 128 + the signal's number, as a shell reports a command killed by it: SIGINT 130, SIGTERM 143. */
export function interruptExitCode(signalName: string): number {
  const n = (osConstants.signals as Record<string, number>)[signalName];
  return 128 + (n ?? 2);
}

export const emptyStats = (): HostStats => ({ ok: 0, changed: 0, failed: 0, skipped: 0, unreachable: 0, rescued: 0, ignored: 0 });

/**
 * Exit codes. Plain: 0 success, 4 a task failed or a host was unreachable, 1 usage/engine fault.
 * Detailed (Puppet's): 0 nothing changed, 2 changed/drift, 4 failures/unreachable, 6 both.
 */
export function exitCodeFor(hosts: Record<string, HostRecord>, detailed: boolean): number {
  let changed = false;
  let failed = false;
  for (const h of Object.values(hosts)) {
    if (h.stats.changed > 0) changed = true;
    if (h.stats.failed > 0 || h.stats.unreachable > 0) failed = true;
  }
  if (!detailed) return failed ? 4 : 0;
  return (changed ? 2 : 0) + (failed ? 4 : 0);
}
