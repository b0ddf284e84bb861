// Batched reads: the probes of a play's tasks on one host sent in one exec, ahead of the walk;
// after any apply (check or run) the host's reads made before are dropped; its next tasks are read
// again in the apply's own exec (runner/apply-steps.ts) or in one exec when it reaches the next one.
// A batched read is used only by the task it was made for, only once, and only if the task's
// parameters and become settings, rendered when the task is reached, are exactly those the
// probe was built from; anything else (a `when` or parameter that depends on a `register`, a
// loop, delegate_to) is read when the task is reached, as before.
import type { Play, Task, TaskNode } from '../playbook/types.js';
import type { Host } from '../connection/host.js';
import { ConnectionError, PlayError } from '../errors.js';
import { normalizeDiff, type Module, type ModuleContext } from '../module/contract.js';
import { batchScript, readByProbe, type Probe, type ProbeOutput } from '../connection/sections.js';
import { validateParams, type SchemaProblem } from '../module/schema.js';
import { getModule } from '../../modules/index.js';
import { renderDeep } from '../lang/template.js';
import { evaluateCondition } from '../lang/expr.js';
import { rootInherited, walk, type Inherited } from './iterator.js';
import { renderBecome, renderBecomeUser, taskHost } from './task-host.js';
import { taskNames } from './task.js';

/** The read of a module: its probe (from a batch when one was made for it) then readMore; else read. */
export async function readState<S>(mod: Module<any, S>, ctx: ModuleContext, params: unknown, pre?: ProbeOutput): Promise<S> {
  if (!mod.probe) return mod.read!(ctx, params);
  const probe = mod.probe(params, { hostName: ctx.hostName });
  const first = pre ? probe.parse(pre) : await readByProbe(ctx.host, probe);
  return mod.readMore ? mod.readMore(ctx, params, first) : first;
}

/** What a batched read was made for: the task's parameters and become, rendered. */
export const readKey = (params: unknown, become: boolean, becomeUser: string | undefined): string => JSON.stringify([params, become, becomeUser ?? null]);

/** Where a refill, or the reads sent after an apply, stop: after the task this says yes to (`count` planned so far). */
export type Horizon = (task: Task, count: number) => boolean;

/** Later tasks' probes sent after an apply in its exec, and where their outputs go. */
export interface AheadReads {
  /** Each probe's script and time limit. */
  reads: Array<{ script: string; timeoutMs?: number }>;
  put(outputs: Array<ProbeOutput | undefined>): void;
}

/** How BatchedReads reads a host's tasks: the play's planner (prefetchReads, planAhead). */
export interface ReadSource {
  /** Reads the host's tasks from `from` on, through `stop`, in one exec (per become setting). */
  refill(host: string, from: Task, stop: Horizon): Promise<void>;
  /** The probes of the host's tasks after `task`, through `stop`, that can go with an apply made with this become. */
  ahead(host: string, task: Task, become: string, stop: Horizon): { planned: Planned[]; covered: Set<Task> };
}

interface Entry {
  key: string;
  out: ProbeOutput;
  /** The probe reads other hosts (mtu pings): stale after an apply on any host. */
  peers?: boolean;
}

/**
 * Probe outputs per host and task, each taken at most once. An apply on a host makes the reads
 * made before it on that host stale (`applying`): the host forgets them, and either reads the next
 * tasks in the apply's own exec (`ahead`) or, when it reaches a task no read covers, in one exec
 * (`take` → refill); so do the other inventory hosts on the same machine (`machineOf`: local hosts
 * share one). A task that touches another host (delegate_to, a module's `peer`) makes that host's
 * reads stale too. A probe that reads other hosts (mtu pinging its peers) is used in a real run
 * only while nothing has been applied anywhere.
 */
export class BatchedReads {
  private readonly byHost = new Map<string, Map<Task, Entry>>();
  /** Bumped by every apply on a host: a batch that started before one is dropped when it lands. */
  private readonly generation = new Map<string, number>();
  /** The tasks the host's last batch went through (read ahead, or known to need no read ahead). */
  private readonly covered = new Map<string, Set<Task>>();
  private readonly known = new Set<string>();
  /** Applies started in this play on any host (a real run's peer reads are stale after one). */
  private applies = 0;
  /**
   * Whether each task's latest read (stale or not) said it would change: the reads that go with an
   * apply stop at the next task expected to change, whose own apply then reads on. Real runs only.
   */
  private readonly expected = new Map<string, Map<Task, boolean>>();
  /**
   * Refills read at least this many tasks: 2 after an apply, doubled by each refill (due when the
   * host reaches a task no read covers: an expected change that did not happen), so a wrong guess
   * costs a few execs, never one per task.
   */
  private readonly window = new Map<string, number>();

  constructor(
    private readonly source?: ReadSource,
    private readonly machineOf: (host: string) => string = (h) => h,
    private readonly run = false,
  ) {}

  /**
   * Where a batch for `host` going through `covered` records what it read: nothing, if the host
   * was applied to meanwhile. `expectChange`: what the read says about its task (a real run's guess).
   */
  batchFor(host: string, covered: Set<Task>): { put(task: Task, key: string, out: ProbeOutput, more?: { peers?: boolean; expectChange?: boolean }): void } {
    const gen = this.generation.get(host) ?? 0;
    this.covered.set(host, covered);
    this.known.add(host);
    return {
      put: (task, key, out, more = {}) => {
        if (gen !== (this.generation.get(host) ?? 0)) return;
        mapOf(this.byHost, host).set(task, { key, out, peers: more.peers });
        if (more.expectChange !== undefined) mapOf(this.expected, host).set(task, more.expectChange);
      },
    };
  }

  /** The batched output for this task on this host if it was made for exactly this key (then gone). */
  async take(host: string, task: Task, key: string): Promise<ProbeOutput | undefined> {
    if (!this.covered.get(host)?.has(task) && this.source) {
      const w = this.window.get(host) ?? Infinity;
      this.window.set(host, w * 2);
      await this.source.refill(host, task, (t, n) => n >= w && this.mayChange(host, t));
    }
    const m = this.byHost.get(host);
    const e = m?.get(task);
    if (!e) return undefined;
    m!.delete(task);
    if (e.peers && this.run && this.applies > 0) return undefined;
    return e.key === key ? e.out : undefined;
  }

  /** Something is about to change on `host`: nothing read there before may be used any more. */
  applying(host: string): void {
    this.applies++;
    const machine = this.machineOf(host);
    for (const h of [...this.known].filter((k) => k === host || this.machineOf(k) === machine)) {
      this.generation.set(h, (this.generation.get(h) ?? 0) + 1);
      this.window.set(h, 2);
      this.byHost.delete(h);
      this.covered.delete(h);
    }
  }

  /** Whether a real run may still use a read of other hosts made now (nothing applied yet). */
  peersReadable(): boolean {
    return !this.run || this.applies === 0;
  }

  /**
   * Called once an apply on `host` has begun (after `applying`): the probes of the host's next
   * tasks, through the next one expected to change, to send after the apply in its exec.
   */
  ahead(host: string, task: Task, become: string): AheadReads | undefined {
    if (!this.source) return undefined;
    // A check (a read-only command) has no guesses: it reads a window, as a refill would.
    const w = this.run ? 1 : (this.window.get(host) ?? 2);
    if (!this.run) this.window.set(host, w * 2);
    const { planned, covered } = this.source.ahead(host, task, become, (t, n) => n >= w && this.mayChange(host, t));
    const batch = this.batchFor(host, covered);
    return {
      reads: planned.map((p) => ({ script: p.script, timeoutMs: p.timeoutMs })),
      put: (outs) => outs.forEach((out, i) => out && batch.put(planned[i].task, planned[i].key, out, { expectChange: planned[i].expectChange?.(out) })),
    };
  }

  /** A task expected to change (or never read in this play) ends what goes ahead of it. */
  private mayChange(host: string, task: Task): boolean {
    return this.expected.get(host)?.get(task) ?? true;
  }
}

function mapOf<K, V>(outer: Map<string, Map<K, V>>, key: string): Map<K, V> {
  let m = outer.get(key);
  if (!m) outer.set(key, (m = new Map()));
  return m;
}

/** A task whose probe can be built up front on a host, with what it is built from. */
export interface Planned {
  task: Task;
  key: string;
  become: boolean;
  becomeUser: string | undefined;
  script: string;
  timeoutMs?: number;
  peers?: boolean;
  /** A real run's guess from a read of this probe: would the task change something? */
  expectChange?(out: ProbeOutput): boolean;
}

/** Probes with the same become settings can share an exec. */
export const becomeKey = (become: boolean, becomeUser: string | undefined): string => `${become}\0${becomeUser ?? ''}`;

export interface PrefetchEnv {
  play: Play;
  /** Each node's place in the play (numberNodes): a refill plans the tasks from its task on. */
  order: Map<TaskNode, number>;
  host: string;
  connect(host: string): Promise<Host>;
  varsFor(host: string, inh: Inherited, task: Task): Record<string, unknown>;
  /** Whether the run's tags select the task (others are not read). */
  selected(task: Task, inh: Inherited): boolean;
  /** A real run (reads then carry a guess of whether their task will change). */
  run: boolean;
  signal?: AbortSignal;
}

/** Names the play registers: a task reading one is read when reached (its value is not known yet). */
function registeredNames(play: Play): Set<string> {
  const names = new Set<string>();
  const gen = walk(play.tasks, rootInherited(), new Map());
  for (let s = gen.next(undefined); !s.done; s = gen.next(undefined)) if (s.value.kind === 'task' && s.value.task.register) names.add(s.value.task.register);
  return names;
}

interface PlanOptions {
  /** Plan from this task on (after it, with `after`); from the start when unset. */
  from?: Task;
  after?: boolean;
  stop?: Horizon;
  /** Whether probes that read other hosts may be planned. */
  peers: boolean;
}

/** The tasks of the play's main path (blocks and always; not rescue) from `from` on, with what they inherit. */
function planTasks(env: PrefetchEnv, o: PlanOptions): { planned: Planned[]; covered: Set<Task> } {
  const out: Planned[] = [];
  const covered = new Set<Task>(o.from && !o.after ? [o.from] : []);
  // A handler (not in the play's order) has no rest of the play to read ahead.
  if (o.from && !env.order.has(o.from)) return { planned: out, covered };
  const first = o.from ? env.order.get(o.from)! + (o.after ? 1 : 0) : 0;
  const registered = registeredNames(env.play);
  const gen = walk(env.play.tasks, { ...rootInherited(), tags: [...env.play.tags] }, new Map());
  for (let s = gen.next(undefined); !s.done; s = gen.next(undefined)) {
    if (s.value.kind !== 'task' || (env.order.get(s.value.task) ?? 0) < first) continue;
    covered.add(s.value.task);
    const p = planTask(env, s.value.task, s.value.inherited, registered, o.peers);
    if (!p) continue;
    out.push(p);
    if (o.stop?.(p.task, out.length)) break;
  }
  return { planned: out, covered };
}

function planTask(env: PrefetchEnv, task: Task, inh: Inherited, registered: Set<string>, peers: boolean): Planned | undefined {
  const mod = getModule(task.module);
  if (!mod?.probe || task.loop !== undefined || task.runOnce || (task.delegateTo ?? inh.delegateTo) !== undefined || task.until) return undefined;
  if (!env.selected(task, inh)) return undefined;
  const conds = [...inh.when, ...task.when];
  if (taskNames(task, conds).some((n) => registered.has(n))) return undefined;
  try {
    const vars = env.varsFor(env.host, inh, task);
    const where = { file: task.pos.file, line: task.pos.line, col: task.pos.col, task: task.name ?? task.module };
    if (conds.length && !evaluateCondition(conds, vars, where)) return undefined;
    const rendered = renderDeep(task.params, vars, where) as Record<string, unknown>;
    const problems: SchemaProblem[] = [];
    const params = mod.freeKeys ? { ...rendered } : validateParams(mod.params, rendered, problems);
    if (problems.length || (mod.validate?.(params) ?? []).length) return undefined;
    const become = renderBecome(task.become ?? inh.become ?? env.play.become, vars, where);
    const becomeUser = renderBecomeUser(task.becomeUser ?? inh.becomeUser ?? env.play.becomeUser, vars, where);
    const probe = mod.probe(params, { hostName: env.host });
    if (probe.peers && !peers) return undefined;
    const expectChange = env.run ? (out: ProbeOutput) => expectsChange(mod, probe, params, out) : undefined;
    return { task, key: readKey(params, become, becomeUser), become, becomeUser, script: probe.script, timeoutMs: probe.timeoutMs, peers: probe.peers, expectChange };
  } catch (e) {
    // Anything that cannot be judged now (an undefined variable, bad input) is judged when reached.
    if (e instanceof PlayError) return undefined;
    throw e;
  }
}

/** The guess: whether this read shows something to change (a read that cannot be judged here: yes). */
function expectsChange(mod: Module, probe: Probe<unknown>, params: Record<string, unknown>, out: ProbeOutput): boolean {
  try {
    return normalizeDiff(mod.diff!(probe.parse(out), params)).changes.length > 0;
  } catch {
    return true;
  }
}

/**
 * Reads ahead the tasks of the play on one host (from `from` on, through `stop`) whose probe can be
 * built now: one exec per become setting (one in practice). A failed exec stores nothing: each task
 * reads when reached and reports its own error.
 */
export async function prefetchReads(env: PrefetchEnv, into: BatchedReads, from?: Task, stop?: Horizon): Promise<void> {
  const { planned: all, covered } = planTasks(env, { from, stop, peers: into.peersReadable() });
  const batch = into.batchFor(env.host, covered);
  const groups = new Map<string, Planned[]>();
  for (const p of all) {
    const g = becomeKey(p.become, p.becomeUser);
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  for (const planned of groups.values()) {
    if (env.signal?.aborted) return;
    const { script, split } = batchScript(planned.map((p) => p.script));
    const timeoutMs = Math.max(0, ...planned.map((p) => p.timeoutMs ?? 0)) || undefined;
    try {
      const host = taskHost(await env.connect(env.host), planned[0].become, planned[0].becomeUser, undefined, env.signal);
      const r = await host.run(script, timeoutMs ? { timeoutMs } : {});
      split(r.stdout).forEach((out, i) => out && batch.put(planned[i].task, planned[i].key, out, { peers: planned[i].peers, expectChange: planned[i].expectChange?.(out) }));
    } catch (e) {
      if (e instanceof PlayError || e instanceof ConnectionError) continue;
      throw e;
    }
  }
}

/**
 * The probes of the host's tasks after `task`, through `stop`, that can travel in the exec of an
 * apply made with become settings `become` (becomeKey). A task planned with other settings is
 * left uncovered: a refill reads it when the host reaches it.
 */
export function planAhead(env: PrefetchEnv, task: Task, become: string, stop: Horizon): { planned: Planned[]; covered: Set<Task> } {
  // Peer reads never go after an apply: the apply itself makes them stale in a real run.
  const { planned, covered } = planTasks(env, { from: task, after: true, stop, peers: false });
  const other = planned.filter((p) => becomeKey(p.become, p.becomeUser) !== become);
  for (const p of other) covered.delete(p.task);
  return { planned: planned.filter((p) => !other.includes(p)), covered };
}

/**
 * The machine behind an inventory host, from its connection variables as written: every local
 * host is this machine; an SSH host is its address and port (two names for one host share it).
 */
export function machineOf(vars: Record<string, unknown>, host: string): string {
  const kind = String(vars.ansible_connection ?? (host === 'localhost' ? 'local' : 'ssh')).toLowerCase();
  if (kind === 'local') return 'local';
  return `${String(vars.ansible_host ?? vars.ansible_ssh_host ?? host)}:${String(vars.ansible_port ?? vars.ansible_ssh_port ?? 22)}`;
}
