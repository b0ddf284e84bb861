// The module contract: read (reads only) → diff (pure) → apply (exactly those changes).
// The engine owns the loop, check mode and the convergence re-read; modules never see check mode.
import type { Host } from './host.js';
import type { ParamSchema } from './schema.js';

/** One difference between the host and the task: printed as `path: from → to`. */
export interface Change {
  /** What differs, e.g. `runtime net.ipv4.tcp_rmem`, `eth1 mtu`, `file /etc/x.conf`. */
  path: string;
  from?: unknown;
  to?: unknown;
  /** Applying it disrupts the host (link flap, daemon restart). */
  disruptive?: boolean;
  /** Full text before/after, for `--diff` unified diffs of file content. */
  before?: string;
  after?: string;
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
export interface DiffResult {
  changes: Change[];
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

export interface ModuleDoc {
  name: string;
  summary: string;
  /** Longer text: behaviour, facets, what is disruptive. */
  description?: string;
  params: ParamSchema;
  /** YAML task snippets shown by `play modules NAME`. */
  examples: string[];
}

export interface Module<P = any, S = any> extends ModuleDoc {
  /**
   * state:   read/diff/apply converge; the engine re-reads after apply and fails if still different.
   * action:  apply does something every time it is due (command); no convergence re-read.
   * control: runs inside the engine only (debug, set_fact, assert); uses `control` instead.
   */
  kind: 'state' | 'action' | 'control';
  /** Cross-parameter checks at validation time (pure): messages, each naming the field. */
  validate?(params: P): string[];
  read?(ctx: ModuleContext, params: P): Promise<S>;
  diff?(state: S, params: P): Change[] | DiffResult;
  apply?(ctx: ModuleContext, params: P, changes: Change[], state: S): Promise<ApplyOutcome | void>;
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

export interface ControlOutcome {
  failed?: boolean;
  msg?: string;
  /** set_fact: variables to add to the host. */
  facts?: Record<string, unknown>;
  data?: Record<string, unknown>;
  changed?: boolean;
}

export function normalizeDiff(d: Change[] | DiffResult): DiffResult {
  return Array.isArray(d) ? { changes: d } : { changes: d.changes, failures: d.failures ?? [], warnings: d.warnings ?? [], skip: d.skip };
}

/**
 * The changes of a re-read after apply that mean "did not converge": every change except
 * actions (a `restarted` service shows a restart again on every read, by design).
 */
export function unconverged(d: Change[] | DiffResult): Change[] {
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
 * dropped, no other hosts.
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
  };
}
