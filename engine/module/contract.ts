// The module contract: read (reads only) → diff (pure) → apply (exactly those changes).
// The engine owns the loop, check mode and the convergence re-read; modules never see check mode.
import type { Host, WriteOptions } from '../connection/host.js';
import type { ParamSchema } from './schema.js';
import type { Probe } from '../connection/sections.js';

/**
 * One difference between the host and the task: printed as `path: from → to`.
 * `T` is the module's own description of what differs (`target`), which its `apply` acts on.
 */
export interface Change<T = unknown> {
  /**
   * What differs as text, e.g. `runtime net.ipv4.tcp_rmem`, `eth1 mtu`, `file /etc/x.conf`: rendered
   * by the module from `target`. Reports and the drift history match changes across runs by it.
   */
  path: string;
  /**
   * What differs in the module's terms (`{ facet: 'runtime', key: 'net.core.rmem_max' }`), so apply
   * never parses `path` back. The engine does not read it and drops it from results (see task.ts).
   */
  target?: T;
  from?: unknown;
  to?: unknown;
  /** Applying it disrupts the host (link flap, daemon restart). */
  disruptive?: boolean;
  /** Full text before/after, for `--diff` unified diffs of file content. */
  before?: string;
  after?: string;
  /** Why there is no before/after for --diff (binary or huge content): --diff says so instead. */
  diffOmitted?: string;
  /** Free text instead of from → to, e.g. "would run: systemctl restart libvirtd". */
  message?: string;
  /**
   * Something done each time it is due (restart a service, run a command), not a state:
   * the convergence re-read after apply ignores it (see `unconverged`).
   */
  action?: boolean;
  /** The message once applied, for actions ("ran: cmd" where `message` says "would run: cmd"). */
  done?: string;
}

/** A diff may also carry findings that fail the task even in check mode (path MTU too small). */
export interface DiffResult<T = unknown> {
  changes: Change<T>[];
  /** Problems that fail the task whatever the mode: each a clear sentence. */
  failures?: string[];
  /** Reported but not failing (e.g. `unsupported: warn` settings the driver cannot change). */
  warnings?: string[];
  /**
   * The module cannot judge this time (a path check while the MTU is not there yet): the task
   * is skipped with this reason, which reports show as `unknown`, never as in sync.
   */
  skip?: string;
}

/** What a probe may know of its host (for messages): nothing it could run commands with. */
export interface ProbeHost {
  hostName: string;
}

export interface ModuleContext {
  host: Host;
  /** Inventory hostname. */
  hostName: string;
  /** All variables visible to the task (inventory, play, registered, facts). */
  vars: Record<string, unknown>;
  /** Run commands with become (sudo) for this task. */
  become: boolean;
  /** Extra lines for -v output. */
  log(line: string): void;
  /**
   * Aborted when the run is interrupted (Ctrl-C, SIGTERM) and, for a `cancellable` module, when
   * the task's `timeout:` expires; `signal.reason` says which. Long work checks it and stops.
   */
  signal: AbortSignal;
  /** Live status of long work (a percentage, a rate): the host's row in a terminal, a line now and then in plain output. */
  progress(line: string): void;
  /**
   * Another inventory host's connection (same pool, same become settings): for tasks that touch
   * two hosts, like a migration's destination. Throws a PlayError for a name not in the inventory.
   */
  peer(hostName: string): Promise<Host>;
  /**
   * Closes this task's host connection and opens a new one (a module that rebooted the host or
   * restarted its sshd): the returned Host has the task's become settings, deadline and signal,
   * and every later task of the host uses the new connection too. `ctx.host` still holds the old,
   * closed one. A failed attempt rejects with a ConnectionError (the module may try again); if
   * the last attempt failed, the host stays unreachable for the rest of the run.
   */
  reconnect(opts?: { connectTimeoutS?: number }): Promise<Host>;
}

/** Figures of one task (a migration's total time, downtime): reach the reports and the summary. */
export type Metrics = Record<string, number | string>;

export interface ApplyOutcome {
  /** Extra data exposed to `register` (e.g. command rc/stdout). */
  data?: Record<string, unknown>;
  warnings?: string[];
  /** Backup files written while applying. */
  backups?: string[];
  /** Figures for the reports: JSON `metrics`, Prometheus `play_<module>_<key>` gauges. */
  metrics?: Metrics;
}

/** A command of an apply given as data; `log` is the -v line once it ran. */
export interface RunStep {
  run: string;
  log?: string;
  /**
   * Keep its stdout and stderr apart and exact (a command task registers both), and feed it
   * `stdin`: allowed only as the one step of an apply.
   */
  apart?: { stdin?: string };
}

/** A file write of an apply given as data: atomic, verified, a backup as asked (Host.writeFile's). */
export interface WriteStep {
  write: string;
  content: string | Buffer;
  opts?: Pick<WriteOptions, 'mode' | 'owner' | 'group' | 'backup'>;
}

export type ApplyStep = RunStep | WriteStep;

/** What a command step printed (stdout and stderr together) and its exit code. */
export interface StepOutput {
  output: string;
  /** Null: killed by a signal (`signal`). */
  code: number | null;
  /** An `apart` step: `output` is its stdout alone, this its stderr; `ms` how long the exec took. */
  stderr?: string;
  signal?: string | null;
  ms?: number;
}

export interface ApplySteps {
  /** Run in order; a step whose predecessor failed does not run. At most one WriteStep. */
  steps: ApplyStep[];
  /**
   * Judges the commands' outputs (in step order; undefined for a write, or a step that did not
   * run): throws a ModuleError for a failed one. A failed write is the engine's to report.
   */
  judge?(outputs: Array<StepOutput | undefined>): ApplyOutcome | void;
}

export interface ModuleDoc {
  name: string;
  summary: string;
  /** Longer text: behaviour, facets, what is disruptive. */
  description?: string;
  params: ParamSchema;
  /** YAML task snippets shown by `play modules NAME`. */
  examples: string[];
}

export interface Module<P = any, S = any, T = any> extends ModuleDoc {
  /**
   * state:   read/diff/apply converge; the engine re-reads after apply and fails if still different.
   * action:  apply does something every time it is due (command); no convergence re-read.
   * control: runs inside the engine only (debug, set_fact, assert); uses `control` instead.
   */
  kind: 'state' | 'action' | 'control';
  /**
   * Cross-parameter checks at validation time (pure): one problem per field, which the engine
   * prints once with the field's file:line:col and the module's name (`sysctl.file: …`).
   * A bare string (the old form, naming its field itself) is still accepted and printed as is.
   */
  validate?(params: P): Array<ParamProblem | string>;
  read?(ctx: ModuleContext, params: P): Promise<S>;
  /**
   * The read as data (a read-only script and a pure parser): the engine may send the probes of
   * several tasks of a host in one exec. A module with a probe needs no `read`; the engine runs
   * the probe, then `readMore` when the module has one.
   */
  probe?(params: P, host: ProbeHost): Probe<S>;
  /**
   * A second read step that depends on what the probe found (qemu_conf: the certificate paths
   * come from the file, unless the parameters name them): returns the state completed.
   */
  readMore?(ctx: ModuleContext, params: P, state: S): Promise<S>;
  diff?(state: S, params: P): Change<T>[] | DiffResult<T>;
  /** `changes` are exactly those `diff` returned: act on each one's `target`, never its `path`. */
  apply?(ctx: ModuleContext, params: P, changes: Change<T>[], state: S): Promise<ApplyOutcome | void>;
  /**
   * The apply as data (pure), when it is commands and at most one file write that need not look
   * at each other's output: the engine sends them in one exec, with the task's convergence
   * re-read (and other tasks' reads) after them. Undefined: this apply is not that (a `validate`
   * that must pass before the write), and `apply` does it.
   */
  applySteps?(params: P, changes: Change<T>[], state: S, host: ProbeHost): ApplySteps | undefined;
  /** Data for `register` from the state read (e.g. a stat result). */
  result?(state: S, params: P): Record<string, unknown>;
  /** For kind 'control': runs in check mode too (it changes nothing on the host). */
  control?(ctx: ModuleContext, params: P): Promise<ControlOutcome>;
  /**
   * The parameter a bare string fills: `command: echo hi` means `{cmd: 'echo hi'}`.
   * Unset: the module needs a dict of parameters.
   */
  freeForm?: string;
  /** Accepts any parameter names (set_fact): `params` documents the known ones only. */
  freeKeys?: boolean;
  /**
   * The module watches `ctx.signal` and cleans up itself (aborts a migration job): when the task's
   * `timeout:` expires the signal is aborted and the module gets `cancelGraceMs` to return before
   * its commands are killed. Other modules' commands are bounded by the timeout itself.
   */
  cancellable?: boolean;
  /** Grace period after the timeout for a cancellable module (default 15 s). */
  cancelGraceMs?: number;
}

/** A problem `validate` found: the parameter it is about and a sentence that does not repeat it. */
export interface ParamProblem {
  /**
   * Path below the module key, dotted as `play validate` prints it (`settings.vm.swappiness`,
   * `allow_from.0`); `a/b` when the problem is about a choice between parameters; '' for the
   * parameters as a whole (set_fact with none).
   */
  field: string;
  message: string;
}

export const paramProblem = (field: string, message: string): ParamProblem => ({ field, message });

/**
 * A validate result as text lines for one task: `module.field: message` (the module's name and
 * the field once), each at the position `posOf` gives for the field; old bare strings at `taskPos`.
 */
export function validationLines<Pos>(moduleName: string, found: Array<ParamProblem | string>, posOf: (field: string) => Pos | undefined, taskPos: Pos): Array<{ pos: Pos; text: string }> {
  return found.map((p) => {
    if (typeof p === 'string' || p.field === '') return { pos: taskPos, text: `${moduleName}: ${typeof p === 'string' ? p : p.message}` };
    // For a choice (`cmd/argv`), the first of the fields the task names.
    const at = p.field.split('/').map(posOf).find((x) => x !== undefined);
    return { pos: at ?? taskPos, text: `${moduleName}.${p.field}: ${p.message}` };
  });
}

export interface ControlOutcome {
  failed?: boolean;
  msg?: string;
  /** set_fact: variables to add to the host. */
  facts?: Record<string, unknown>;
  data?: Record<string, unknown>;
  changed?: boolean;
}

export function normalizeDiff<T>(d: Change<T>[] | DiffResult<T>): DiffResult<T> {
  return Array.isArray(d) ? { changes: d } : { changes: d.changes, failures: d.failures ?? [], warnings: d.warnings ?? [], skip: d.skip };
}

/**
 * The changes of a re-read after apply that mean "did not converge": every change except
 * actions (a `restarted` service shows a restart again on every read, by design).
 */
export function unconverged<T>(d: Change<T>[] | DiffResult<T>): Change<T>[] {
  return normalizeDiff(d).changes.filter((c) => !c.action);
}

/** `runtime net.ipv4.tcp_rmem: '4096 131072 6291456' → '4096 87380 16777216'` */
export function formatChange(c: Change): string {
  if (c.message) return `${c.path}: ${c.message}`;
  const fmt = (v: unknown) => (v === undefined || v === null ? '(absent)' : typeof v === 'string' ? `'${v}'` : JSON.stringify(v));
  return `${c.path}: ${fmt(c.from)} → ${fmt(c.to)}${c.disruptive ? ' (disruptive)' : ''}`;
}

/**
 * A context outside a run (tools, direct module calls in tests): never aborted, progress
 * dropped, no other hosts, no reconnect.
 */
export function standaloneContext(host: Host, vars: Record<string, unknown> = {}, hostName = host?.name): ModuleContext {
  return {
    host,
    hostName,
    vars,
    become: false,
    log: () => {},
    signal: new AbortController().signal,
    progress: () => {},
    peer: async (name) => {
      throw new Error(`no other hosts outside a run (asked for '${name}')`);
    },
    reconnect: async () => {
      throw new Error('no connection pool outside a run: cannot reconnect');
    },
  };
}
