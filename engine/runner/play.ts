// Runs one play: host selection, serial batches, facts, the linear or free strategy over each
// host's task walk, handlers, max_fail_percentage and any_errors_fatal.
import pLimit from 'p-limit';
import type { Play, Task, TaskNode } from '../playbook/types.js';
import type { Host } from '../connection/host.js';
import type { HostRecord, TaskEvent, TaskResult } from '../results.js';
import { emptyStats } from '../results.js';
import { ConnectionError, formatPos } from '../errors.js';
import { numberNodes, rootInherited, walk, type Feedback, type Inherited, type Step, type WalkOutcome } from './iterator.js';
import { runTask, type TaskOutcome, type TaskRun } from './task.js';
import type { RunBackups } from './task-host.js';
import { hostView, hostvarLayers, layerVars, lazyHostvars, type HostState } from './vars.js';
import type { RunObserver } from './events.js';
import type { LimitRegistry } from './limits.js';
import { BatchedReads, machineOf, planAhead, prefetchReads, type ReadSource } from './batch-reads.js';

export interface PlayEnv {
  check: boolean;
  forks: number;
  strategy?: 'linear' | 'free';
  limitHosts?: Set<string>;
  tags: string[];
  skipTags: string[];
  extraVars: Record<string, unknown>;
  playbookDir: string;
  /** Hosts selected by the play's pattern, in inventory order. */
  selectHosts(pattern: string): string[];
  inventoryVars(host: string): Record<string, unknown>;
  allHostNames: string[];
  connect(host: string): Promise<Host>;
  /** Replaces a host's connection (ModuleContext.reconnect: a rebooted host). */
  reconnect?(host: string, opts: { connectTimeoutMs?: number }): Promise<Host>;
  secretsOf(host: string): string[];
  gatherFacts(host: Host): Promise<Record<string, unknown>>;
  hostStates: Map<string, HostState>;
  records: Record<string, HostRecord>;
  /** Hosts that failed or were unreachable earlier in the run: later plays skip them. */
  deadHosts: Set<string>;
  observer: RunObserver;
  /** Keyed concurrency limits shared by every play of the run (throttle:, limits:). */
  limits?: LimitRegistry;
  /** The run's interruption: no task starts once it aborts, running ones are stopped. */
  signal?: AbortSignal;
  /** Backups made so far in the run (one per file per run). */
  backups?: RunBackups;
}

interface HostRun {
  name: string;
  gen: Generator<Step, WalkOutcome, Feedback>;
  next: IteratorResult<Step, WalkOutcome>;
  notified: Set<string>;
  failed: boolean;
}

/** Batch sizes from `serial` (numbers, "30%", or a list whose last entry repeats). */
export function batchSizes(serial: Array<number | string>, total: number): number[] {
  if (serial.length === 0 || total === 0) return [total];
  const toSize = (s: number | string) => {
    if (typeof s === 'string' && s.trim().endsWith('%')) return Math.max(1, Math.floor((total * parseFloat(s)) / 100));
    return Math.max(1, Number(s));
  };
  const sizes: number[] = [];
  let left = total;
  let i = 0;
  while (left > 0) {
    const n = Math.min(left, toSize(serial[Math.min(i, serial.length - 1)]));
    sizes.push(n);
    left -= n;
    i++;
  }
  return sizes;
}

function tagSelected(tags: string[], env: PlayEnv): boolean {
  const set = new Set(tags);
  if (env.skipTags.some((t) => set.has(t) || t === 'all')) return false;
  if (set.has('never') && !env.tags.some((t) => set.has(t))) return false;
  if (env.tags.length === 0 || env.tags.includes('all')) return true;
  if (set.has('always')) return true;
  if (env.tags.includes('tagged') && set.size > 0) return true;
  if (env.tags.includes('untagged') && set.size === 0) return true;
  return env.tags.some((t) => set.has(t));
}

/** Tasks whose failure a surrounding block's rescue handles (counted as rescued, not failed). */
function rescuableTasks(nodes: TaskNode[], covered: boolean, out = new Set<Task>()): Set<Task> {
  for (const n of nodes) {
    if (n.kind === 'task' && covered) out.add(n);
    if (n.kind === 'block') {
      rescuableTasks(n.block, covered || n.rescue.length > 0, out);
      rescuableTasks(n.rescue, covered, out);
      rescuableTasks(n.always, covered, out);
    }
  }
  return out;
}

export async function runPlay(play: Play, env: PlayEnv): Promise<{ aborted: boolean }> {
  let hosts = env.selectHosts(play.hosts).filter((h) => !env.deadHosts.has(h));
  if (env.limitHosts) hosts = hosts.filter((h) => env.limitHosts!.has(h));
  await env.observer.playStart?.(play, hosts);
  if (hosts.length === 0) {
    await env.observer.warning?.(`play '${play.name}': no hosts matched '${play.hosts}'${env.limitHosts ? ' (with --limit)' : ''}`);
    return { aborted: false };
  }
  const order = numberNodes([...play.tasks]);
  const rescuable = rescuableTasks(play.tasks, false);
  const strategy = env.strategy ?? play.strategy;
  const limit = pLimit(Math.max(1, env.forks));
  let start = 0;
  for (const size of batchSizes(play.serial, hosts.length)) {
    const batch = hosts.slice(start, start + size);
    start += size;
    const { aborted, allFailed } = await runBatch(play, batch, hosts, env, order, rescuable, strategy, limit);
    if (aborted || allFailed || env.signal?.aborted) return { aborted: true };
  }
  return { aborted: false };
}

async function runBatch(
  play: Play,
  batch: string[],
  playHosts: string[],
  env: PlayEnv,
  order: Map<TaskNode, number>,
  rescuable: Set<Task>,
  strategy: 'linear' | 'free',
  limit: ReturnType<typeof pLimit>,
): Promise<{ aborted: boolean; allFailed: boolean }> {
  const runs = new Map<string, HostRun>();
  let aborted = false;
  const baseInh: Inherited = { ...rootInherited(), tags: [...play.tags] };
  const varsFor = batchVars(play, batch, playHosts, env);

  const emit = (host: string, name: string, module: string, task: Task | undefined, result: TaskResult, handler: boolean, startedAt: Date) =>
    recordEvent(env, { play: play.name, task: name, module, source: task ? formatPos(task.pos) : undefined, host, startedAt: startedAt.toISOString(), result }, handler);

  const batchAlive = await gatherBatchFacts(play, batch, env, limit, emit);
  const batched = await readAhead(play, batchAlive, env, order, limit, varsFor);

  for (const h of batchAlive) {
    const gen = walk(play.tasks, baseInh, order);
    runs.set(h, { name: h, gen, next: gen.next(undefined as unknown as Feedback), notified: new Set(), failed: false });
  }

  const runOnceResults = new Map<Task, Promise<TaskOutcome>>();

  const execute = async (hr: HostRun, task: Task, inh: Inherited, handler: boolean): Promise<TaskResult> => {
    const t0 = new Date();
    const name = task.name ?? task.module;
    const doRun = () => runTask({ ...taskRun(play, env, hr.name, task, inh, varsFor(hr.name, inh, task)), batched });
    let outcome: TaskOutcome;
    if (task.runOnce) {
      let p = runOnceResults.get(task);
      const first = !p;
      if (!p) {
        p = limit(doRun);
        runOnceResults.set(task, p);
      }
      outcome = await p;
      if (!first) {
        applyOutcome(hr, task, outcome);
        return outcome.result; // run_once: one run, its result shared by the batch, reported once
      }
    } else {
      outcome = await limit(doRun);
    }
    if (outcome.result.status === 'failed' && !outcome.result.ignored && rescuable.has(task) && !inh.inRescue) {
      outcome.result.rescued = true;
    }
    applyOutcome(hr, task, outcome);
    emit(hr.name, name, task.module, task, outcome.result, handler, t0);
    return outcome.result;
  };

  const applyOutcome = (hr: HostRun, task: Task, outcome: TaskOutcome) => {
    const st = stateOf(env, hr.name);
    if (outcome.facts) Object.assign(st.facts, outcome.facts);
    if (task.register && outcome.registered) st.facts[task.register] = outcome.registered;
    if (outcome.result.status === 'changed') for (const n of task.notify) hr.notified.add(n);
  };

  const runHandlers = async (hostNames: string[]) => {
    for (const handler of play.handlers) {
      const names = [handler.name ?? '', ...handler.listen].filter(Boolean);
      const due = hostNames.filter((h) => {
        const hr = runs.get(h)!;
        return !hr.failed && names.some((n) => hr.notified.has(n));
      });
      if (due.length === 0) continue;
      await env.observer.taskStart?.(play, handler.name ?? handler.module, due, true);
      await Promise.all(
        due.map(async (h) => {
          const hr = runs.get(h)!;
          for (const n of names) hr.notified.delete(n);
          const r = await execute(hr, handler, baseInh, true);
          if ((r.status === 'failed' && !r.ignored) || r.status === 'unreachable') markFailed(hr);
        }),
      );
    }
  };

  const markFailed = (hr: HostRun) => {
    hr.failed = true;
    env.deadHosts.add(hr.name);
  };

  const checkFailurePolicy = () => {
    const failed = batchAlive.filter((h) => runs.get(h)!.failed).length + (batch.length - batchAlive.length);
    if (play.anyErrorsFatal && failed > 0) aborted = true;
    // Abort when failures *exceed* the percentage (Ansible's documented semantics).
    if (play.maxFailPercentage !== undefined && (failed / batch.length) * 100 > play.maxFailPercentage) aborted = true;
    if (aborted) env.observer.warning?.(`play '${play.name}': stopping — ${failed}/${batch.length} hosts failed in this batch`);
  };

  const feed = (hr: HostRun, fb: Feedback) => {
    // A check keeps reading after a failed task: nothing was changed, so no later task depends
    // on a change that did not happen, and every task still gets its own verdict (Ansible
    // would stop the host and leave its remaining drift unknown). The failure still counts.
    const flow = env.check && fb && fb.status === 'failed' ? { ...fb, ignored: true } : fb;
    hr.next = hr.gen.next(flow);
    if (hr.next.done && hr.next.value === 'failed') markFailed(hr);
  };

  const stepOnce = async (hrs: HostRun[], step: Step) => {
    if (step.kind === 'flush') {
      await runHandlers(hrs.map((h) => h.name));
      for (const hr of hrs) feed(hr, undefined);
      return;
    }
    const allTags = [...step.inherited.tags, ...step.task.tags];
    if (!tagSelected(allTags, env)) {
      for (const hr of hrs) feed(hr, { status: 'skipped', changes: [], warnings: [], check: env.check, durationMs: 0 });
      return;
    }
    await env.observer.taskStart?.(play, step.task.name ?? step.task.module, hrs.map((h) => h.name), false);
    const results = await Promise.all(hrs.map((hr) => execute(hr, step.task, step.inherited, false)));
    hrs.forEach((hr, i) => feed(hr, results[i]));
  };

  const stopped = () => aborted || !!env.signal?.aborted;
  if (strategy === 'linear') {
    for (;;) {
      const live = [...runs.values()].filter((hr) => !hr.next.done && !hr.failed);
      if (live.length === 0 || stopped()) break;
      const min = Math.min(...live.map((hr) => (hr.next.value as Step).order));
      const group = live.filter((hr) => (hr.next.value as Step).order === min);
      await stepOnce(group, group[0].next.value as Step);
      checkFailurePolicy();
    }
  } else {
    await Promise.all(
      [...runs.values()].map(async (hr) => {
        while (!hr.next.done && !hr.failed && !stopped()) {
          await stepOnce([hr], hr.next.value as Step);
          checkFailurePolicy();
        }
      }),
    );
  }
  if (!stopped()) await runHandlers(batchAlive);
  const allFailed = batch.every((h) => env.deadHosts.has(h));
  return { aborted, allFailed };
}

/** The variables of a host for one task of this batch (layers, hostvars, the play's magic names). */
function batchVars(play: Play, batch: string[], playHosts: string[], env: PlayEnv): (host: string, inh: Inherited, task?: Task) => Record<string, unknown> {
  const hostvars = lazyHostvars(env.allHostNames, (h) =>
    hostView(() => hostvarLayers({ defaults: play.roleDefaults, inventory: env.inventoryVars(h), play: play.vars, host: stateOf(env, h), extra: env.extraVars })),
  );
  // Hosts still in the play, rebuilt only when one died (deadHosts only grows): filtering per
  // host per task made every task O(hosts²) and churned one array per host per task.
  let alivePlayHosts: { dead: number; hosts: string[] } | undefined;
  const playHostsAlive = (): string[] => {
    if (alivePlayHosts?.dead !== env.deadHosts.size) alivePlayHosts = { dead: env.deadHosts.size, hosts: Object.freeze(playHosts.filter((h) => !env.deadHosts.has(h))) as string[] };
    return alivePlayHosts.hosts;
  };
  return (host, inh, task) =>
    layerVars({
      defaults: play.roleDefaults,
      inventory: env.inventoryVars(host),
      play: play.vars,
      host: stateOf(env, host),
      task: { ...inh.vars, ...(task?.vars ?? {}) },
      extra: env.extraVars,
      magic: {
        hostvars,
        play_hosts: batch,
        ansible_play_hosts: playHostsAlive(),
        ansible_play_hosts_all: playHosts,
        ansible_play_batch: batch,
        ansible_check_mode: env.check,
        playbook_dir: env.playbookDir,
      },
    });
}

/**
 * Every task's read that can be built now, one exec per host (batch-reads.ts); after an apply on
 * it, a host reads its next tasks again in the apply's exec or in one exec when it reaches them.
 */
async function readAhead(play: Play, hosts: string[], env: PlayEnv, order: Map<TaskNode, number>, limit: ReturnType<typeof pLimit>, varsFor: ReturnType<typeof batchVars>): Promise<BatchedReads> {
  const selected = (task: Task, inh: Inherited) => tagSelected([...inh.tags, ...task.tags], env);
  const envOf = (host: string) => ({ play, order, host, connect: env.connect, varsFor, selected, run: !env.check, signal: env.signal });
  const source: ReadSource = {
    refill: (host, from, stop) => prefetchReads(envOf(host), reads, from, stop),
    ahead: (host, task, become, stop) => planAhead(envOf(host), task, become, stop),
  };
  const reads: BatchedReads = new BatchedReads(source, (h) => machineOf(env.inventoryVars(h), h), !env.check);
  await Promise.all(hosts.map((host) => limit(() => prefetchReads(envOf(host), reads))));
  return reads;
}

/** Counts a task's result in the host's stats and tells the renderer. */
function recordEvent(env: PlayEnv, ev: TaskEvent, handler: boolean): void {
  const rec = recordOf(env, ev.host);
  rec.tasks.push(ev);
  const s = rec.stats;
  const result = ev.result;
  switch (result.status) {
    case 'ok':
      s.ok++;
      break;
    case 'changed':
      s.ok++;
      s.changed++;
      break;
    case 'skipped':
      s.skipped++;
      break;
    case 'unreachable':
      s.unreachable++;
      rec.unreachable = result.msg;
      break;
    case 'failed':
      if (result.ignored) s.ignored++;
      else if (result.rescued) s.rescued++;
      else s.failed++;
      break;
  }
  env.observer.hostTaskDone?.(ev, handler);
}

type Emit = (host: string, name: string, module: string, task: Task | undefined, result: TaskResult, handler: boolean, startedAt: Date) => void;

/** Facts first: one round trip per host; an unreachable host drops out here. Returns the hosts left. */
async function gatherBatchFacts(play: Play, batch: string[], env: PlayEnv, limit: ReturnType<typeof pLimit>, emit: Emit): Promise<string[]> {
  if (!play.gatherFacts) return [...batch];
  const alive = new Set<string>();
  await env.observer.taskStart?.(play, 'Gathering Facts', batch, false);
  await Promise.all(
    batch.map((h) =>
      limit(async () => {
        if (env.signal?.aborted) return;
        const t0 = new Date();
        try {
          const conn = await env.connect(h);
          stateOf(env, h).gathered = await env.gatherFacts(conn);
          emit(h, 'Gathering Facts', 'facts', undefined, { status: 'ok', changes: [], warnings: [], check: env.check, durationMs: Date.now() - t0.getTime() }, false, t0);
          alive.add(h);
        } catch (e) {
          const unreachable = e instanceof ConnectionError;
          emit(h, 'Gathering Facts', 'facts', undefined, { status: unreachable ? 'unreachable' : 'failed', changes: [], warnings: [], msg: (e as Error).message, check: env.check, durationMs: Date.now() - t0.getTime() }, false, t0);
          env.deadHosts.add(h);
        }
      }),
    ),
  );
  return batch.filter((h) => alive.has(h));
}

/** What runTask needs for one host: connections, secrets, the run's signal, live progress. */
function taskRun(play: Play, env: PlayEnv, host: string, task: Task, inh: Inherited, vars: Record<string, unknown>): TaskRun {
  const name = task.name ?? task.module;
  return {
    task,
    inherited: inh,
    hostName: host,
    vars,
    check: env.check,
    playBecome: play.become,
    playBecomeUser: play.becomeUser,
    connect: env.connect,
    reconnect: env.reconnect,
    secrets: env.secretsOf(host),
    log: (l) => env.observer.verbose?.(l),
    signal: env.signal,
    backups: env.backups,
    progress: (line) => env.observer.hostTaskProgress?.(host, name, line),
    isHost: (h) => env.allHostNames.includes(h),
    limits: env.limits,
  };
}

function stateOf(env: PlayEnv, host: string): HostState {
  let s = env.hostStates.get(host);
  if (!s) {
    s = { name: host, facts: {} };
    env.hostStates.set(host, s);
  }
  return s;
}

function recordOf(env: PlayEnv, host: string): HostRecord {
  let r = env.records[host];
  if (!r) {
    r = { stats: emptyStats(), tasks: [] };
    env.records[host] = r;
  }
  return r;
}
