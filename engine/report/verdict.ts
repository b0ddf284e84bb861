// Per host, per task verdicts of a run: what a drift check means by "in sync".
import type { Change } from '../module/contract.js';
import type { HostRecord, RunRecord, TaskEvent } from '../results.js';

/**
 * in-sync: nothing to do (ok, or skipped because a condition was false).
 * drift:   check mode found differences (pending changes).
 * changed: a normal run made changes.
 * unknown: not known (host unreachable, task not run, module cannot preview) — with the reason.
 * error:   the task failed.
 */
export type Verdict = 'in-sync' | 'drift' | 'changed' | 'unknown' | 'error';

export interface VerdictInfo {
  verdict: Verdict;
  reason?: string;
}

const CONDITION_FALSE = 'conditional result was false';

/** Changes that are states (not actions such as "would run: ..."): what drift is made of. */
export const stateChanges = (changes: Change[]): Change[] => changes.filter((c) => !c.action);

export function verdictOf(event: Pick<TaskEvent, 'result'>): VerdictInfo {
  const r = event.result;
  switch (r.status) {
    case 'ok':
      return { verdict: 'in-sync' };
    case 'skipped':
      // A loop whose items were all skipped by `when` carries no message.
      if (r.msg === undefined || r.msg === CONDITION_FALSE) return { verdict: 'in-sync', reason: CONDITION_FALSE };
      return { verdict: 'unknown', reason: `skipped: ${r.msg}` };
    case 'unreachable':
      return { verdict: 'unknown', reason: `host unreachable: ${r.msg ?? 'no reason given'}` };
    case 'failed': {
      // The playbook said this failure is fine (ignore_errors, or a rescue handled it): not an
      // error of the run, but nothing is known about the state the task manages either.
      if (r.ignored || r.rescued) return { verdict: 'unknown', reason: `failed (${r.ignored ? 'ignored' : 'rescued'}): ${r.msg ?? 'no reason given'}` };
      return { verdict: 'error', reason: `failed: ${r.msg ?? 'no reason given'}` };
    }
    case 'changed': {
      if (!r.check) return { verdict: 'changed' };
      if (stateChanges(r.changes).length > 0) return { verdict: 'drift' };
      // Only actions ("would run: ..."): the module cannot tell whether the host differs.
      const what = r.changes.map((c) => c.message ?? c.path).join('; ');
      return { verdict: 'unknown', reason: `cannot preview in check mode${what ? `: ${what}` : ''}` };
    }
  }
}

/** One row of a host's report: a task that ran, or one the host never reached. */
export interface TaskRow {
  play: string;
  task: string;
  module: string;
  source?: string;
  /** Absent for tasks that did not run. */
  event?: TaskEvent;
  verdict: Verdict;
  reason?: string;
}

export interface HostRows {
  host: string;
  record: HostRecord;
  verdict: Verdict;
  reason?: string;
  rows: TaskRow[];
}

const taskId = (e: Pick<TaskEvent, 'play' | 'task' | 'source'>) => `${e.play}\0${e.task}\0${e.source ?? ''}`;

/** Why a host stopped early, or undefined when it ran to the end. */
function deathOf(rec: HostRecord): string | undefined {
  if (rec.unreachable !== undefined) return `host unreachable: ${rec.unreachable}`;
  const fatal = rec.tasks.find((t) => t.result.status === 'failed' && !t.result.ignored && !t.result.rescued);
  return fatal ? `host failed earlier at task '${fatal.task}'` : undefined;
}

/**
 * Rows per host, in inventory order. A host that died (unreachable, or failed) gets an `unknown`
 * row for each task other hosts ran after that point in the plays it took part in: a drift
 * check must never read "not run" as "in sync".
 */
export function hostRows(record: RunRecord): HostRows[] {
  // The task order of each play, merged over every host (hosts skip tasks differently).
  const order = new Map<string, { play: string; task: string; module: string; source?: string }[]>();
  const seen = new Set<string>();
  for (const rec of Object.values(record.hosts)) {
    for (const e of rec.tasks) {
      const id = taskId(e);
      if (seen.has(id)) continue;
      seen.add(id);
      const list = order.get(e.play) ?? [];
      list.push({ play: e.play, task: e.task, module: e.module, source: e.source });
      order.set(e.play, list);
    }
  }
  return Object.entries(record.hosts).map(([host, rec]) => {
    const rows: TaskRow[] = rec.tasks.map((event) => ({ play: event.play, task: event.task, module: event.module, source: event.source, event, ...verdictOf(event) }));
    const death = deathOf(rec);
    if (death) {
      const ran = new Set(rec.tasks.map(taskId));
      const plays = new Set(rec.tasks.map((t) => t.play));
      for (const play of plays) {
        for (const t of order.get(play) ?? []) {
          if (!ran.has(taskId(t))) rows.push({ ...t, verdict: 'unknown', reason: `not run: ${death}` });
        }
      }
    }
    return { host, record: rec, rows, ...hostVerdict(rec, rows) };
  });
}

function hostVerdict(rec: HostRecord, rows: TaskRow[]): VerdictInfo {
  if (rec.unreachable !== undefined) return { verdict: 'unknown', reason: `host unreachable: ${rec.unreachable}` };
  const has = (v: Verdict) => rows.some((r) => r.verdict === v);
  if (has('error')) return { verdict: 'error', reason: rows.find((r) => r.verdict === 'error')!.reason };
  if (has('drift')) return { verdict: 'drift' };
  if (has('unknown')) return { verdict: 'unknown', reason: rows.find((r) => r.verdict === 'unknown')!.reason };
  if (has('changed')) return { verdict: 'changed' };
  return { verdict: 'in-sync' };
}
