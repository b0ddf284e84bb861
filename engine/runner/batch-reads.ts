// Batched reads: the probes of a play's tasks on one host sent in one exec, ahead of the walk;
// after any apply (check or run) every host's reads made before are dropped and the rest of its
// tasks read again in one exec when it reaches the next one (BatchedReads).
// A batched read is used only by the task it was made for, only once, and only if the task's
// parameters and become settings, rendered when the task is reached, are exactly those the
// probe was built from; anything else (a `when` or parameter that depends on a `register`, a
// loop, delegate_to) is read when the task is reached, as before.
import type { Play, Task, TaskNode } from '../playbook/types.js';
import type { Host } from '../host.js';
import { ConnectionError, PlayError } from '../errors.js';
import type { Module, ModuleContext } from '../module.js';
import { batchScript, readByProbe, type ProbeOutput } from '../connection/sections.js';
import { validateParams, type SchemaProblem } from '../schema.js';
import { getModule } from '../../modules/index.js';
import { renderDeep } from '../template.js';
import { evaluateCondition } from '../expr.js';
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

/**
 * Probe outputs per host and task, each taken at most once. An apply on a host makes the reads
 * made before it on that host stale (`applying`): the host forgets them, and reads the rest of its
 * tasks again in one exec (`refill`) when it next reaches a task with a probe; so do the other
 * inventory hosts on the same machine (`machineOf`: local hosts share one). A task that touches
 * another host (delegate_to, a module's `peer`) makes that host's reads stale too; a probe that
 * reads other hosts (mtu pinging its peers) is batched only in a check (`peers`).
 */
export class BatchedReads {
  private readonly byHost = new Map<string, Map<Task, { key: string; out: ProbeOutput }>>();
  /** Bumped by every apply on a host: a batch that started before one is dropped when it lands. */
  private readonly generation = new Map<string, number>();
  /** The tasks the host's last batch went through (read ahead, or known to need no read ahead). */
  private readonly covered = new Map<string, Set<Task>>();
  private readonly known = new Set<string>();
  /**
   * How many tasks a host's next refill reads: 2 after an apply, doubled by each refill (one is
   * due when the host reaches a task its last batch did not go through). A first run where every task changes then reads each task's probe about twice
   * (a full refill after every apply would read the rest of the play each time: quadratic), and a
   * run with a few changes needs only a few more execs than a check.
   */
  private readonly window = new Map<string, number>();

  /**
   * `refill` reads the tasks of a host from a task on, one exec (set by the play); `machineOf`
   * names the machine an inventory host reaches (hosts on the same one go stale together).
   */
  constructor(
    private readonly refill?: (host: string, from: Task, tasks: number) => Promise<void>,
    private readonly machineOf: (host: string) => string = (h) => h,
  ) {}

  /**
   * Where a batch for `host` going through `covered` records what it read: nothing, if the host
   * was applied to meanwhile.
   */
  batchFor(host: string, covered: Set<Task>): { put(task: Task, key: string, out: ProbeOutput): void } {
    const gen = this.generation.get(host) ?? 0;
    this.covered.set(host, covered);
    this.known.add(host);
    return {
      put: (task, key, out) => {
        if (gen !== (this.generation.get(host) ?? 0)) return;
        let m = this.byHost.get(host);
        if (!m) this.byHost.set(host, (m = new Map()));
        m.set(task, { key, out });
      },
    };
  }

  /** The batched output for this task on this host if it was made for exactly this key (then gone). */
  async take(host: string, task: Task, key: string): Promise<ProbeOutput | undefined> {
    if (!this.covered.get(host)?.has(task) && this.refill) {
      const w = this.window.get(host) ?? Infinity;
      this.window.set(host, w * 2);
      await this.refill(host, task, w);
    }
    const m = this.byHost.get(host);
    const e = m?.get(task);
    if (!e) return undefined;
    m!.delete(task);
    return e.key === key ? e.out : undefined;
  }

  /** Something is about to change on `host`: nothing read there before may be used any more. */
  applying(host: string): void {
    const machine = this.machineOf(host);
    for (const h of [...this.known].filter((k) => k === host || this.machineOf(k) === machine)) {
      this.generation.set(h, (this.generation.get(h) ?? 0) + 1);
      this.window.set(h, 2);
      this.byHost.delete(h);
      this.covered.delete(h);
    }
  }
}

/** A task whose probe can be built up front on a host, with what it is built from. */
interface Planned {
  task: Task;
  key: string;
  become: boolean;
  becomeUser: string | undefined;
  script: string;
  timeoutMs?: number;
}

export interface PrefetchEnv {
  play: Play;
  /** Each node's place in the play (numberNodes): a refill plans the tasks from its task on. */
  order: Map<TaskNode, number>;
  host: string;
  connect(host: string): Promise<Host>;
  varsFor(host: string, inh: Inherited, task: Task): Record<string, unknown>;
  /** Whether the run's tags select the task (others are not read). */
  selected(task: Task, inh: Inherited): boolean;
  /** A real run (probes reading other hosts are then read when reached). */
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

/** The tasks of the play's main path (blocks and always; not rescue) from `from` on, with what they inherit. */
function planTasks(env: PrefetchEnv, from?: Task, tasks = Infinity): { planned: Planned[]; covered: Set<Task> } {
  const out: Planned[] = [];
  const covered = new Set<Task>(from ? [from] : []);
  // A handler (not in the play's order) has no rest of the play to read ahead.
  if (from && !env.order.has(from)) return { planned: out, covered };
  const first = from ? env.order.get(from)! : 0;
  const registered = registeredNames(env.play);
  const gen = walk(env.play.tasks, { ...rootInherited(), tags: [...env.play.tags] }, new Map());
  for (let s = gen.next(undefined); !s.done; s = gen.next(undefined)) {
    if (s.value.kind !== 'task' || (env.order.get(s.value.task) ?? 0) < first) continue;
    covered.add(s.value.task);
    const p = planTask(env, s.value.task, s.value.inherited, registered);
    if (p) out.push(p);
    if (out.length >= tasks) break;
  }
  return { planned: out, covered };
}

function planTask(env: PrefetchEnv, task: Task, inh: Inherited, registered: Set<string>): Planned | undefined {
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
    if (probe.peers && env.run) return undefined;
    return { task, key: readKey(params, become, becomeUser), become, becomeUser, script: probe.script, timeoutMs: probe.timeoutMs };
  } catch (e) {
    // Anything that cannot be judged now (an undefined variable, bad input) is judged when reached.
    if (e instanceof PlayError) return undefined;
    throw e;
  }
}

/**
 * Reads ahead the tasks of the play on one host (from `from` on, at most `tasks` of them) whose
 * probe can be built now: one exec per become setting (one in practice). A failed exec stores
 * nothing: each task reads when reached and reports its own error.
 */
export async function prefetchReads(env: PrefetchEnv, into: BatchedReads, from?: Task, tasks = Infinity): Promise<void> {
  const { planned: all, covered } = planTasks(env, from, tasks);
  const batch = into.batchFor(env.host, covered);
  const groups = new Map<string, Planned[]>();
  for (const p of all) {
    const g = `${p.become}\0${p.becomeUser ?? ''}`;
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  for (const planned of groups.values()) {
    if (env.signal?.aborted) return;
    const { script, split } = batchScript(planned.map((p) => p.script));
    const timeoutMs = Math.max(0, ...planned.map((p) => p.timeoutMs ?? 0)) || undefined;
    try {
      const host = taskHost(await env.connect(env.host), planned[0].become, planned[0].becomeUser, undefined, env.signal);
      const r = await host.run(script, timeoutMs ? { timeoutMs } : {});
      split(r.stdout).forEach((out, i) => out && batch.put(planned[i].task, planned[i].key, out));
    } catch (e) {
      if (e instanceof PlayError || e instanceof ConnectionError) continue;
      throw e;
    }
  }
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
