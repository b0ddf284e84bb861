// Runs one task on one host: when, loop, parameters, the module loop (read → diff → apply →
// re-read), changed_when/failed_when, retries/until, timeout and register.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task } from '../playbook/types.js';
import type { Host } from '../connection/host.js';
import { ConnectionError, ConvergenceError, InterruptedError, PlayError, TimeoutError, formatPos, type Problem } from '../errors.js';
import { formatChange, normalizeDiff, unconverged, validationLines, type ApplyOutcome, type Change, type Metrics, type Module, type ModuleContext } from '../module/contract.js';
import { validateParams, type SchemaProblem } from '../module/schema.js';
import type { TaskResult } from '../results.js';
import { getModule } from '../../modules/index.js';
import { renderDeep, renderString, templateVariables, type TemplateOrigin } from '../lang/template.js';
import { evaluateCondition, expressionVariables } from '../lang/expr.js';
import type { Inherited } from './iterator.js';
import { renderBecome, renderBecomeUser, taskHost, type RunBackups } from './task-host.js';
import { redactResult } from './redact.js';
import { LimitAborted, LimitRegistry, runParallel } from './limits.js';
import { loopParallel, slotsFor, withSlots } from './task-limits.js';
import { becomeKey, readKey, readState, type AheadReads, type BatchedReads } from './batch-reads.js';
import { runApplySteps } from './apply-steps.js';
import type { ProbeOutput } from '../connection/sections.js';

export interface TaskRun {
  task: Task;
  inherited: Inherited;
  hostName: string;
  /** Fully layered variables of the host for this task. */
  vars: Record<string, unknown>;
  check: boolean;
  /** Become defaults of the play (task and blocks override). */
  playBecome: boolean | string;
  playBecomeUser?: string;
  /** Opens (once per run) the connection of a host by inventory name. */
  connect(hostName: string): Promise<Host>;
  /** Replaces a host's connection with a new one (ModuleContext.reconnect). */
  reconnect?(hostName: string, opts: { connectTimeoutMs?: number }): Promise<Host>;
  /** Secrets known for this run (become passwords …), masked in results. */
  secrets: string[];
  log(line: string): void;
  /** Epoch ms by which every command of the task must end (from `timeout:`). */
  deadline?: number;
  /** The run's keyed concurrency limits (throttle:, limits:); one per process when not given. */
  limits?: LimitRegistry;
  /** The run's interruption (Ctrl-C, SIGTERM): aborting it stops the task's commands. */
  signal?: AbortSignal;
  /** Backups made so far in this run: one per file per run. */
  backups?: RunBackups;
  /** Live status of the task on this host (ModuleContext.progress). */
  progress?(line: string): void;
  /** Whether a name is an inventory host (ModuleContext.peer refuses others). */
  isHost?(hostName: string): boolean;
  /** Reads of this play made ahead in one exec per host (check mode): see batch-reads.ts. */
  batched?: BatchedReads;
}

const processLimits = new LimitRegistry();
const BREAK_NOT_STARTED = 'not started: loop_control.break_when ended the loop';

/**
 * Runs one host's (or loop item's) module loop holding the task's keyed limits. `stop`: the loop
 * ended (break_when) while this item waited for its slots, so it must not start.
 */
async function limited(run: TaskRun, vars: Record<string, unknown>, body: () => Promise<SingleOutcome>, stop?: () => boolean): Promise<SingleOutcome> {
  try {
    return await withSlots(run.limits ?? processLimits, slotsFor(run.task, vars, (f) => origin(run, f)), async () => {
      // an item granted its slots after the run was interrupted must not start (a migration would)
      if (run.signal?.aborted) throw new LimitAborted(run.signal.reason);
      if (stop?.()) return { status: 'skipped', changes: [], warnings: [], msg: BREAK_NOT_STARTED };
      return body();
    }, run.signal);
  } catch (e) {
    if (e instanceof LimitAborted) return { status: 'failed', changes: [], warnings: [], msg: e.message };
    throw e;
  }
}

/** ignore_unreachable: an unreachable (delegated) host fails this run or item, marked unreachable, instead of the host. */
async function reachOrFail(run: TaskRun, body: () => Promise<SingleOutcome>): Promise<SingleOutcome> {
  try {
    return await body();
  } catch (e) {
    if (!(e instanceof UnreachableSignal) || !run.task.ignoreUnreachable) throw e;
    return { status: 'failed', changes: [], warnings: [], msg: e.reason, data: { unreachable: true } };
  }
}

/** Failures that are all unreachable hosts under ignore_unreachable count as ignored. */
const unreachableOnly = (run: TaskRun, outs: Array<SingleOutcome | undefined>): boolean | undefined =>
  (run.task.ignoreUnreachable && outs.every((o) => !o || o.status !== 'failed' || o.data?.unreachable === true)) || undefined;

/** loop_control.break_when, judged on the item's result under the register name. */
function breaks(run: TaskRun, out: SingleOutcome): boolean {
  const cond = run.task.concurrency?.breakWhen;
  if (!cond || out.preview) return false;
  const reg = registerValue(out);
  const vars = run.task.register ? { ...run.vars, [run.task.register]: reg } : run.vars;
  return evaluateCondition(cond, vars, origin(run, 'loop_control'));
}

export interface TaskOutcome {
  result: TaskResult;
  /** Value for `register` (when the task has one). */
  registered?: Record<string, unknown>;
  /** Variables set by set_fact. */
  facts?: Record<string, unknown>;
  /** The task was not run because its conditions were false. */
  conditionFalse?: boolean;
}

/** A module or its host is missing: the task fails with a message, never crashes the run. */
class UnreachableSignal extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

const displayName = (t: Task) => t.name ?? t.module;

function origin(run: TaskRun, field?: string): TemplateOrigin {
  const pos = (field && (run.task.paramPos[field] ?? run.task.keyPos[field])) || run.task.pos;
  return { file: pos.file, line: pos.line, col: pos.col, task: displayName(run.task), field };
}

function problemsMessage(run: TaskRun, problems: SchemaProblem[]): string {
  return problems
    .map((p) => {
      const key = p.path.join('.');
      const pos = run.task.paramPos[key] ?? run.task.paramPos[p.path[0]] ?? run.task.pos;
      return `${formatPos(pos)}: ${run.task.module}.${key}: ${p.message}`;
    })
    .join('\n');
}

/** One pass of the module loop on one host, before changed_when / failed_when / until judge it. */
export interface SingleOutcome {
  status: 'ok' | 'changed' | 'failed' | 'skipped';
  /** Check mode, and all the task would do is act (run a command): its result is unknown. */
  preview?: boolean;
  changes: Change[];
  msg?: string;
  warnings: string[];
  data?: Record<string, unknown>;
  facts?: Record<string, unknown>;
  metrics?: Metrics;
}

/** The task's connection to `targetName` (its host, or the delegate): what a module's ctx.host is. */
interface TaskConnection {
  targetName: string;
  become: boolean;
  becomeUser: string | undefined;
  /** Stops the commands (undefined for a cancellable module, which watches ctx.signal itself). */
  commandSignal: AbortSignal | undefined;
}

/** What a module sees of the task: its host, variables, the signal, progress and other hosts. */
function moduleContext(run: TaskRun, host: Host | undefined, vars: Record<string, unknown>, conn: TaskConnection): ModuleContext {
  const { become, becomeUser } = conn;
  return {
    host: host ?? (undefined as unknown as Host),
    hostName: run.hostName,
    vars,
    become,
    log: run.log,
    signal: run.signal ?? new AbortController().signal,
    progress: (line) => run.progress?.(line),
    peer: async (name) => {
      if (run.isHost && !run.isHost(name)) throw new PlayError(`${formatPos(run.task.pos)}: '${name}' is not a host of the inventory`);
      if (!run.check) run.batched?.applying(name); // the task may change it (a migration's destination)
      return taskHost(await run.connect(name), become, becomeUser, run.deadline);
    },
    reconnect: async (o) => {
      if (!run.reconnect) throw new PlayError(`${formatPos(run.task.pos)}: ${run.task.module}: this run cannot reconnect to ${conn.targetName}`);
      if (!run.check) run.batched?.applying(conn.targetName); // a reboot: whatever was read ahead is stale
      const connectTimeoutMs = o?.connectTimeoutS === undefined ? undefined : o.connectTimeoutS * 1000;
      return taskHost(await run.reconnect(conn.targetName, { connectTimeoutMs }), become, becomeUser, run.deadline, conn.commandSignal, run.backups);
    },
  };
}

async function moduleLoop(run: TaskRun, mod: Module, params: Record<string, unknown>, vars: Record<string, unknown>, check: boolean): Promise<SingleOutcome> {
  const task = run.task;
  const become = renderBecome(task.become ?? run.inherited.become ?? run.playBecome, vars, origin(run, 'become'));
  const becomeUser = renderBecomeUser(task.becomeUser ?? run.inherited.becomeUser ?? run.playBecomeUser, vars, origin(run, 'become_user'));
  const target = task.delegateTo ?? run.inherited.delegateTo;
  const targetName = target ? String(renderString(target, vars, origin(run, 'delegate_to'))) : run.hostName;

  const needsHost = mod.kind !== 'control';
  // A cancellable module watches ctx.signal itself and cleans up (domjobabort) with commands
  // that must not be cut by that same signal; any other module's commands stop with it.
  const conn: TaskConnection = { targetName, become, becomeUser, commandSignal: mod.cancellable ? undefined : run.signal };
  let host: Host | undefined;
  if (needsHost) {
    try {
      host = taskHost(await run.connect(targetName), become, becomeUser, run.deadline, conn.commandSignal, run.backups);
    } catch (e) {
      if (e instanceof ConnectionError) throw new UnreachableSignal(e.message);
      throw e;
    }
  }
  const ctx = moduleContext(run, host, vars, conn);
  const own = targetName === run.hostName;
  const pre = mod.probe && own ? await run.batched?.take(run.hostName, task, readKey(params, become, becomeUser)) : undefined;
  // The next tasks' reads go with an apply made once, on the task's own host (not per loop item or retry).
  const once = own && task.loop === undefined && !task.until;
  const ahead = once ? () => run.batched?.ahead(run.hostName, task, becomeKey(become, becomeUser)) : undefined;
  return moduleSteps(mod, ctx, params, check, targetName, { pre, applying: () => run.batched?.applying(targetName), ahead, backups: run.backups });
}

/** How the module loop meets the run: reads made ahead (batch-reads.ts) and the run's backups. */
export interface LoopHooks {
  /** The probe's output, read ahead with other tasks' in one exec. */
  pre?: ProbeOutput;
  /** Called before apply: reads made ahead are stale from now on. */
  applying?(): void;
  /** Called once the apply began: the next tasks' reads to send in its exec (apply-steps.ts). */
  ahead?(): AheadReads | undefined;
  /** Backups made so far in this run: one per file per run (task-host.ts backupOnce). */
  backups?: RunBackups;
}

/**
 * The module loop proper: read → diff → (check stops) → apply → re-read → diff, and the
 * convergence rule. Exported so module tests run exactly this (test/module-loop.ts), never a
 * copy. A module's PlayError propagates; runOne (and the tests) turn it into failedOutcome.
 */
export async function moduleSteps(mod: Module, ctx: ModuleContext, params: Record<string, unknown>, check: boolean, targetName = ctx.hostName, hooks: LoopHooks = {}): Promise<SingleOutcome> {
  if (mod.kind === 'control') {
    const out = await mod.control!(ctx, params);
    return {
      status: out.failed ? 'failed' : out.changed ? 'changed' : 'ok',
      changes: [],
      msg: out.msg,
      warnings: [],
      data: out.data,
      facts: out.facts,
    };
  }

  // `pre`: the probe's output read ahead with other tasks' (batch-reads.ts), else read now.
  const state = await readState(mod, ctx, params, hooks.pre);
  const d = normalizeDiff(mod.diff!(state, params));
  const warnings = [...(d.warnings ?? [])];
  if (d.failures && d.failures.length > 0) {
    return { status: 'failed', changes: d.changes.map((c) => reported(c, false)), msg: d.failures.join('\n'), warnings };
  }
  if (d.changes.length === 0 && d.skip) return { status: 'skipped', changes: [], warnings, msg: d.skip };
  if (d.changes.length === 0) return { status: 'ok', changes: [], warnings, data: mod.result?.(state, params) };
  if (check) {
    // A command that would run has no output yet: registering a made-up result (rc 0) would
    // let later conditions judge data that does not exist.
    const preview = d.changes.every((c) => c.action);
    return { status: 'changed', changes: d.changes.map((c) => reported(c, false)), warnings, preview, data: preview ? undefined : mod.result?.(state, params) };
  }

  // An interrupt or `timeout:` during read must not start the change (e.g. a migration).
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof PlayError ? ctx.signal.reason : new InterruptedError(`interrupted before applying on ${targetName}`);
  const { applied, reread } = await applyChanges(mod, ctx, params, d.changes, state, hooks);
  return judgeApplied(mod, ctx, params, d.changes, { applied, reread, warnings, targetName });
}

/**
 * Applies the changes. An apply given as steps travels in one exec with the task's convergence
 * re-read (`reread`) and, when `ahead` gives them, the next tasks' reads; any other apply runs
 * its own commands, and the re-read is an exec of its own.
 */
async function applyChanges(mod: Module, ctx: ModuleContext, params: Record<string, unknown>, changes: Change[], state: unknown, hooks: LoopHooks): Promise<{ applied: ApplyOutcome | void; reread?: ProbeOutput }> {
  try {
    const steps = mod.applySteps?.(params, changes, state, { hostName: ctx.hostName });
    hooks.applying?.(); // before: a failed apply may have changed the host too
    if (!steps) return { applied: await mod.apply!(ctx, params, changes, state) };
    const own = mod.kind === 'state' && mod.probe ? [mod.probe(params, { hostName: ctx.hostName })] : [];
    const ahead = hooks.ahead?.();
    const done = await runApplySteps(ctx, steps, [...own, ...(ahead?.reads ?? [])], hooks.backups);
    ahead?.put(done.reads.slice(own.length));
    return { applied: done.outcome, reread: own.length ? done.reads[0] : undefined };
  } catch (e) {
    if (e instanceof PlayError) e.attempted = changes.map((c) => reported(c, false)); // the host may hold some of them now
    throw e;
  }
}

interface Applied {
  applied: ApplyOutcome | void;
  /** The probe's output read in the apply's own exec, after it. */
  reread?: ProbeOutput;
  warnings: string[];
  targetName: string;
}

/** After apply: the convergence re-read (a `state` module), and the task's outcome. */
async function judgeApplied(mod: Module, ctx: ModuleContext, params: Record<string, unknown>, changes: Change[], a: Applied): Promise<SingleOutcome> {
  const { applied } = a;
  const warnings = [...a.warnings, ...(applied?.warnings ?? [])];
  const metrics = applied?.metrics;
  let data = applied?.data;
  if (mod.kind === 'state') {
    // The engine, not the module, decides whether the host really got there.
    const again = await readState(mod, ctx, params, a.reread);
    const d2 = normalizeDiff(mod.diff!(again, params));
    const left = unconverged(d2);
    if (left.length > 0) {
      const e = new ConvergenceError(`did not converge on ${a.targetName}: after apply, still ${left.map(formatChange).join('; ')}`);
      e.attempted = changes.map(asDone);
      e.metrics = metrics;
      if (applied?.backups?.length) e.data = { backup_file: applied.backups[0], backups: applied.backups };
      throw e;
    }
    if (d2.failures && d2.failures.length > 0) {
      return { status: 'failed', changes: changes.map(asDone), msg: d2.failures.join('\n'), warnings: [...warnings, ...(d2.warnings ?? [])], metrics };
    }
    data = { ...(mod.result?.(again, params) ?? {}), ...(data ?? {}) };
  }
  if (applied?.backups?.length) data = { ...(data ?? {}), backup_file: applied.backups[0], backups: applied.backups };
  return { status: 'changed', changes: changes.map(asDone), warnings, data, metrics };
}

/** A module's PlayError as the task's outcome: what it may have done, its message and data. */
export function failedOutcome(e: PlayError): SingleOutcome {
  return { status: 'failed', changes: e.attempted ?? [], msg: e.message, warnings: [], data: e.data, metrics: e.metrics };
}

/**
 * The change as reported: an applied action reads as what happened ("ran: x"); `done` itself
 * never leaves the engine (it is wording, and may repeat a command that redaction must see once),
 * nor does `target` (the module's own handle for apply; results and reports carry `path`).
 */
function reported(c: Change, applied: boolean): Change {
  const { done, target: _target, ...rest } = c;
  return applied && done !== undefined ? { ...rest, message: done } : rest;
}
const asDone = (c: Change): Change => reported(c, true);

function registerValue(o: SingleOutcome | { status: 'skipped'; msg?: string }, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    changed: o.status === 'changed',
    failed: o.status === 'failed',
    skipped: o.status === 'skipped',
    msg: o.msg,
  };
  if ('preview' in o && o.preview) {
    base.skipped = true;
    base.preview = true;
    base.msg = 'not run: check mode only previews it';
  }
  if ('changes' in o) {
    base.changes = o.changes.map(formatChange);
    base.warnings = o.warnings;
    Object.assign(base, o.data ?? {});
  }
  return { ...base, ...extra };
}

async function runOne(run: TaskRun, mod: Module, vars: Record<string, unknown>, check: boolean, secrets: string[]): Promise<SingleOutcome> {
  const task = run.task;
  const rendered = renderDeep(task.params, vars, origin(run)) as Record<string, unknown>;
  const problems: SchemaProblem[] = [];
  // set_fact-like modules take any names; the schema then documents the known ones only.
  const params = mod.freeKeys ? { ...rendered } : validateParams(mod.params, rendered, problems);
  if (problems.length) return { status: 'failed', changes: [], msg: problemsMessage(run, problems), warnings: [] };
  for (const [name, spec] of Object.entries(mod.params)) {
    const v = params[name];
    if (spec.secret && v !== undefined && v !== null && typeof v !== 'object') secrets.push(String(v));
  }
  const extra = validationLines(mod.name, mod.validate?.(params) ?? [], (f) => task.paramPos[f] ?? task.paramPos[f.split('.')[0]], task.pos);
  if (extra.length) return { status: 'failed', changes: [], msg: extra.map((l) => `${formatPos(l.pos)}: ${l.text}`).join('\n'), warnings: [] };

  const untilConds = task.until;
  const attempts = untilConds ? Math.max(1, (task.retries ?? 3) + 1) : 1;
  let out!: SingleOutcome;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      out = await moduleLoop(run, mod, params, vars, check);
    } catch (e) {
      if (e instanceof UnreachableSignal) throw e;
      // The connection died under the task: the host is unreachable, not the task failed.
      if (e instanceof ConnectionError) throw new UnreachableSignal(e.message);
      if (!(e instanceof PlayError)) throw e;
      out = failedOutcome(e);
    }
    // A preview (check mode, a command that would run) has no outcome for conditions to judge.
    if (out.preview) break;
    // changed_when / failed_when see the result under the register name (Ansible's habit).
    const reg = registerValue(out);
    const condVars = task.register ? { ...vars, [task.register]: reg } : vars;
    if (task.changedWhen && out.status !== 'failed' && out.status !== 'skipped') {
      out.status = evaluateCondition(task.changedWhen, condVars, origin(run, 'changed_when')) ? 'changed' : 'ok';
    }
    if (task.failedWhen) {
      const failed = evaluateCondition(task.failedWhen, { ...condVars, ...(task.register ? { [task.register]: registerValue(out) } : {}) }, origin(run, 'failed_when'));
      if (failed && out.status !== 'failed') out = { ...out, status: 'failed', msg: out.msg ?? `failed_when condition is true` };
      else if (!failed && out.status === 'failed') out = { ...out, status: 'ok' };
    }
    if (!untilConds) break;
    const untilVars = task.register ? { ...vars, [task.register]: registerValue(out) } : vars;
    if (out.status !== 'failed' && evaluateCondition(untilConds, untilVars, origin(run, 'until'))) break;
    if (run.signal?.aborted) break;
    if (attempt < attempts) {
      run.log(`${run.hostName}: retrying '${displayName(task)}' (${attempts - attempt} left)`);
      await sleep(task.delay * 1000, undefined, { signal: run.signal }).catch(() => undefined);
    } else if (out.status !== 'failed') {
      out = { ...out, status: 'failed', msg: `until condition still false after ${attempts} attempts` };
    }
  }
  return out;
}

function withTimeout<T>(p: Promise<T>, ms: number | undefined, what: string, seconds: number | undefined): Promise<T> {
  if (!ms) return p;
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(`${what} timed out after ${seconds} s`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/** A task the interruption reached: not started (skipped), or stopped while running (failed). */
function interruptedOutcome(result: TaskResult, signal: AbortSignal | undefined, started: boolean): TaskResult {
  if (!signal?.aborted) return result;
  const why = signal.reason instanceof Error ? signal.reason.message : 'the run was interrupted';
  if (!started) return { ...result, status: 'skipped', msg: `not run: ${why}` };
  if (result.status !== 'failed' && result.status !== 'unreachable') return result;
  const msg = result.msg?.includes(why) ? result.msg : `stopped: ${why}${result.msg ? `\n${result.msg}` : ''}`;
  return { ...result, status: 'failed', ignored: undefined, msg };
}

const DEFAULT_CANCEL_GRACE_MS = 15_000;

/**
 * The task's signal: aborted with the run's (Ctrl-C/SIGTERM) and when `timeout:` expires. A
 * cancellable module gets a grace period after that to clean up (abort a migration job) before
 * its commands are killed; for others the timeout is also the commands' deadline.
 */
function taskCancellation(run: TaskRun, mod: Module | undefined, started: number) {
  const ac = new AbortController();
  const onRun = () => ac.abort(run.signal!.reason);
  if (run.signal?.aborted) onRun();
  else run.signal?.addEventListener('abort', onRun, { once: true });
  const seconds = run.task.timeout;
  const grace = seconds && mod?.cancellable ? (mod.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS) : 0;
  const timer = seconds
    ? setTimeout(() => ac.abort(new TimeoutError(`task '${displayName(run.task)}' on ${run.hostName} timed out after ${seconds} s`)), seconds * 1000)
    : undefined;
  return {
    signal: ac.signal,
    /** When the engine stops waiting and kills the task's commands. */
    limitMs: seconds ? seconds * 1000 + grace : undefined,
    deadline: seconds ? started + seconds * 1000 + grace : undefined,
    done() {
      if (timer) clearTimeout(timer);
      run.signal?.removeEventListener('abort', onRun);
    },
  };
}

export async function runTask(given: TaskRun): Promise<TaskOutcome> {
  if (given.signal?.aborted) {
    const r: TaskResult = { status: 'skipped', changes: [], warnings: [], check: given.check, durationMs: 0 };
    return { result: interruptedOutcome(r, given.signal, false) };
  }
  const out = await runTaskBody(given);
  return { ...out, result: interruptedOutcome(out.result, given.signal, true) };
}

async function runTaskBody(given: TaskRun): Promise<TaskOutcome> {
  const started = Date.now();
  const task = given.task;
  const secrets = [...given.secrets];
  const cancel = taskCancellation(given, getModule(task.module), started);
  try {
    return await runTaskWith({ ...given, secrets, deadline: cancel.deadline, signal: cancel.signal }, started, cancel.limitMs);
  } finally {
    cancel.done();
  }
}

async function runTaskWith(run: TaskRun, started: number, limitMs: number | undefined): Promise<TaskOutcome> {
  const task = run.task;
  const secrets = run.secrets;
  // A check never writes, except a command the playbook declares read-only (see readOnlyTask):
  // check_mode: false cannot opt any other task out; check_mode: true previews a task even in a
  // real run.
  const readOnly = readOnlyTask(task, run.inherited);
  const check = (run.check && !readOnly) || (task.checkMode ?? run.inherited.checkMode) === true;
  const noLog = task.noLog ?? run.inherited.noLog ?? false;
  const mod = getModule(task.module);
  const finish = (r: Omit<TaskResult, 'durationMs' | 'check'>, extra: Partial<TaskOutcome> = {}): TaskOutcome => {
    const result = redactResult({ ...r, check, durationMs: Date.now() - started }, secrets);
    return { ...extra, result: noLog ? hideOutput(result) : result };
  };
  if (!mod) return finish({ status: 'failed', changes: [], warnings: [], msg: `${formatPos(task.pos)}: unknown module '${task.module}'` });

  const conds = [...run.inherited.when, ...task.when];
  const blocked = dependsOnPreview(run, conds);
  if (blocked) {
    return finish({ status: 'skipped', changes: [], warnings: [], msg: `not judged: depends on '${blocked}', registered by a command that check mode only previews` }, {
      registered: task.register ? registerValue({ status: 'skipped', msg: `depends on '${blocked}'` }) : undefined,
    });
  }
  try {
    const body = async (): Promise<TaskOutcome> => {
      if (task.loop === undefined) {
        if (conds.length && !evaluateCondition(conds, run.vars, origin(run, 'when'))) {
          return finish({ status: 'skipped', changes: [], warnings: [], msg: 'conditional result was false' }, {
            conditionFalse: true,
            registered: task.register ? registerValue({ status: 'skipped', msg: 'conditional result was false' }) : undefined,
          });
        }
        const out = inSync(await reachOrFail(run, () => limited(run, run.vars, () => runOne(run, mod, run.vars, check, secrets))), readOnly && (run.check || task.params.read_only === true));
        return finish(
          { status: out.status, changes: out.changes, warnings: out.warnings, msg: out.msg, data: out.data, diffs: diffsOf(out.changes), ignored: ignored(run, out.status) ?? (out.status === 'failed' ? unreachableOnly(run, [out]) : undefined), ...(out.metrics ? { metrics: out.metrics } : {}) },
          { registered: task.register ? registerValue(out) : undefined, facts: out.facts },
        );
      }
      const items = renderDeep(task.loop, run.vars, origin(run, 'loop'));
      if (!Array.isArray(items)) {
        throw new PlayError(`${formatPos(task.keyPos.loop ?? task.pos)}: loop must be a list, got ${typeof items}`);
      }
      const { outs, stopped, facts } = await runItems(run, mod, items, conds, check, readOnly);
      const results: Record<string, unknown>[] = [];
      const changes: Change[] = [];
      const warnings: string[] = [];
      const msgs: string[] = [];
      let metrics: Metrics | undefined; // a loop reports its last item's figures
      let anyChanged = false;
      let anyFailed = false;
      let allSkipped = items.length > 0;
      for (const { item, out, label, span } of outs) {
        if (!out) {
          results.push({ ...registerValue({ status: 'skipped', msg: stopped ? BREAK_NOT_STARTED : run.signal?.aborted ? 'not started: the run was interrupted' : undefined }), [task.loopVar]: item, item });
          continue;
        }
        allSkipped = false;
        results.push({ ...registerValue(out), ...span, [task.loopVar]: item, item });
        changes.push(...out.changes.map((c) => ({ ...c, path: items.length > 1 ? `[${label}] ${c.path}` : c.path })));
        warnings.push(...out.warnings);
        if (out.metrics) metrics = out.metrics;
        if (out.status === 'changed') anyChanged = true;
        if (out.status === 'failed') {
          anyFailed = true;
          msgs.push(`item ${label}: ${out.msg ?? 'failed'}`);
        } else if (out.msg) msgs.push(out.msg);
      }
      const status = anyFailed ? 'failed' : allSkipped ? 'skipped' : anyChanged ? 'changed' : 'ok';
      // (an item a module skipped counts as run: the others decide the task's status)
      const registered = { changed: anyChanged, failed: anyFailed, skipped: allSkipped, msg: msgs.join('\n') || undefined, results };
      return finish(
        { status, changes, warnings, msg: msgs.join('\n') || undefined, data: { results }, diffs: diffsOf(changes), ignored: ignored(run, status) ?? (anyFailed ? unreachableOnly(run, outs.map((o) => o.out)) : undefined), ...(metrics ? { metrics } : {}) },
        { registered: task.register ? registered : undefined, facts, conditionFalse: allSkipped },
      );
    };
    return await withTimeout(body(), limitMs, `task '${displayName(task)}' on ${run.hostName}`, task.timeout);
  } catch (e) {
    if (e instanceof UnreachableSignal) return finish({ status: 'unreachable', changes: [], warnings: [], msg: e.reason });
    if (e instanceof PlayError) {
      return finish({ status: 'failed', changes: [], warnings: [], msg: e.message, ignored: ignored(run, 'failed'), ...(e.metrics ? { metrics: e.metrics } : {}) }, {
        registered: task.register ? { changed: false, failed: true, msg: e.message } : undefined,
      });
    }
    // A bug, not a user mistake: fail this host's task with the stack, keep the run going.
    const err = e as Error;
    return finish({ status: 'failed', changes: [], warnings: [], msg: `internal error: ${err.stack ?? String(err)}` });
  }
}

interface ItemRun {
  item: unknown;
  /** Undefined: the item never ran (its when was false, or the loop stopped before it). */
  out?: SingleOutcome;
  label?: string;
  /** When it really ran, inside its slots: the next holder starts after this end. */
  span?: { started_at: string; ended_at: string };
}

/**
 * The loop's items, up to loop_control.parallel at once under the task's keyed limits, gathered
 * in item order. In parallel, an item does not see the facts set by the items running beside it.
 */
async function runItems(run: TaskRun, mod: Module, items: unknown[], conds: Array<string | boolean>, check: boolean, readOnly: boolean) {
  const task = run.task;
  const parallel = loopParallel(task, run.vars, (f) => origin(run, f));
  const outs: ItemRun[] = items.map((item) => ({ item }));
  let facts: Record<string, unknown> | undefined;
  let stopped = false;
  await runParallel(items.length, parallel, async (i) => {
    const item = items[i];
    const itemVars = {
      ...run.vars,
      ...(facts ?? {}),
      [task.loopVar]: item,
      ansible_loop: { index: i + 1, index0: i, first: i === 0, last: i === items.length - 1, length: items.length },
    };
    if (conds.length && !evaluateCondition(conds, itemVars, origin(run, 'when'))) return;
    let span: ItemRun['span'];
    const timed = async () => {
      const started_at = new Date().toISOString();
      try {
        return await runOne(run, mod, itemVars, check, run.secrets);
      } finally {
        span = { started_at, ended_at: new Date().toISOString() };
      }
    };
    const judged = async () => {
      const out = inSync(await reachOrFail(run, timed), readOnly && (run.check || task.params.read_only === true));
      // judged before the slots are released: the items waiting for them must see the stop
      if (breaks(run, out)) stopped = true;
      return out;
    };
    const out = await limited(run, itemVars, judged, () => stopped);
    outs[i] = { item, out, label: itemLabel(run, item, itemVars), span };
    if (out.facts) facts = { ...(facts ?? {}), ...out.facts };
  }, () => stopped || run.signal?.aborted === true);
  return { outs, stopped, facts };
}

/**
 * How a loop item is shown: `loop_control.label` rendered, else a short form — a scalar as is, a
 * dict by its name/key/path (or its first value), anything else as JSON cut to 40 characters.
 */
function itemLabel(run: TaskRun, item: unknown, vars: Record<string, unknown>): string {
  if (run.task.loopLabel !== undefined) return String(renderString(run.task.loopLabel, vars, origin(run, 'loop_control')));
  if (item === null || typeof item !== 'object') return String(item);
  const d = item as Record<string, unknown>;
  const named = ['name', 'key', 'path', 'dest', 'interface'].find((k) => typeof d[k] === 'string' || typeof d[k] === 'number');
  if (!Array.isArray(item) && named) return String(d[named]);
  const json = JSON.stringify(item);
  return json.length > 40 ? `${json.slice(0, 39)}…` : json;
}

/** Modules whose tasks may declare themselves read-only (they run a command and nothing else). */
const COMMAND_MODULES = new Set(['command', 'shell']);

/**
 * A command the playbook declares read-only: Ansible's `check_mode: false` (on the task or a
 * surrounding block) or the module's own `read_only: true`. It runs during a check too, so the
 * tasks that read what it registered are judged, and counts as in sync there. Any other module
 * with check_mode: false still only previews: a check writes nothing.
 */
export function readOnlyTask(task: Task, inherited: Inherited): boolean {
  if (!COMMAND_MODULES.has(task.module)) return false;
  return task.params.read_only === true || (task.checkMode ?? inherited.checkMode) === false;
}

/** A read-only command (run in a check, or declared read_only): it changed nothing, whatever its module says. */
function inSync(out: SingleOutcome, readOnlyInCheck: boolean): SingleOutcome {
  if (!readOnlyInCheck || out.status !== 'changed') return out;
  return { ...out, status: 'ok', changes: [] };
}

/** Root names a task reads (its when and parameters), computed once per task, not per host. */
const namesRead = new WeakMap<object, string[]>();

export function taskNames(task: Task, conds: Array<string | boolean>): string[] {
  const key = task;
  let names = namesRead.get(key);
  if (!names) {
    const found = new Set<string>();
    for (const c of conds) if (typeof c === 'string') for (const n of expressionVariables(c)) found.add(n);
    const walk = (v: unknown): void => {
      if (typeof v === 'string' && v.includes('{{')) for (const n of templateVariables(v)) found.add(n);
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(task.params);
    names = [...found];
    namesRead.set(key, names);
  }
  return names;
}

/** The first registered variable the task reads (when or parameters) that is only a preview. */
function dependsOnPreview(run: TaskRun, conds: Array<string | boolean>): string | undefined {
  return taskNames(run.task, conds).find((name) => {
    const v = run.vars[name] as { preview?: unknown } | undefined;
    return v !== null && typeof v === 'object' && v.preview === true;
  });
}

const HIDDEN = 'hidden by no_log';

/** no_log: which settings changed stays visible (so drift is named), never their values. */
function hideOutput(r: TaskResult): TaskResult {
  return {
    ...r,
    msg: r.msg === undefined ? undefined : `(${HIDDEN})`,
    changes: r.changes.map((c) => ({ path: c.path, message: `(values ${HIDDEN})`, action: c.action, disruptive: c.disruptive })),
    warnings: r.warnings.length ? [`(${r.warnings.length} warning(s) ${HIDDEN})`] : [],
    data: undefined,
    diffs: undefined,
  };
}

function ignored(run: TaskRun, status: string): boolean | undefined {
  if (status !== 'failed') return undefined;
  const ie = run.task.ignoreErrors ?? run.inherited.ignoreErrors;
  if (ie === undefined) return undefined;
  if (typeof ie === 'boolean') return ie || undefined;
  return evaluateCondition([ie], run.vars, origin(run, 'ignore_errors')) || undefined;
}

function diffsOf(changes: Change[]): TaskResult['diffs'] {
  const d = changes
    .filter((c) => c.before !== undefined || c.after !== undefined || c.diffOmitted)
    .map((c) => ({ path: c.path, before: c.before ?? '', after: c.after ?? '', ...(c.diffOmitted ? { omitted: c.diffOmitted } : {}) }));
  return d.length ? d : undefined;
}

export type { Problem };
