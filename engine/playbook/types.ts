// The loaded, validated playbook: what the runner executes. Raw values keep their templates;
// they are rendered per host at run time. Every node keeps its source position.
import type { SourcePos } from '../errors.js';

export interface TaskCommon {
  name?: string;
  /** `when:` conditions (all must hold); each an expression string (or a literal boolean). */
  when: Array<string | boolean>;
  tags: string[];
  /** A boolean, or a template rendered per host at run time (`become: "{{ use_sudo }}"`). */
  become?: boolean | string;
  becomeUser?: string;
  /** Task-level `vars:`. */
  vars: Record<string, unknown>;
  ignoreErrors?: boolean | string;
  /** `delegate_to:` host name (may be a template). */
  delegateTo?: string;
  runOnce?: boolean;
  /**
   * `check_mode: true` previews this task even in a real run. `check_mode: false` cannot make a
   * task write during a check: a check never writes (Ansible's escape hatch is ours to refuse).
   */
  checkMode?: boolean;
  /** `no_log: true`: values, messages and output of the task never reach output or reports. */
  noLog?: boolean;
  pos: SourcePos;
  /** Positions of the node's own keys, for run-time errors (e.g. `when`, `loop`). */
  keyPos: Record<string, SourcePos>;
}

export interface Task extends TaskCommon {
  kind: 'task';
  module: string;
  /** Parameters as written (templates not yet rendered); defaults are filled at run time. */
  params: Record<string, unknown>;
  /** Position of each parameter path: key `a.b` for params.a.b. */
  paramPos: Record<string, SourcePos>;
  /** `loop:` value as written: a list, or a template string naming a list. */
  loop?: unknown;
  loopVar: string;
  /** `loop_control.label`: how an item is shown (a template rendered per item). */
  loopLabel?: string;
  register?: string;
  notify: string[];
  changedWhen?: Array<string | boolean>;
  failedWhen?: Array<string | boolean>;
  until?: Array<string | boolean>;
  retries?: number;
  /** Seconds between retries. */
  delay: number;
  /** Seconds; the task fails when a host takes longer. */
  timeout?: number;
  /** For handlers: extra topic names a handler answers to. */
  listen: string[];
  /**
   * `ignore_unreachable: true`: a host the task cannot reach (its delegate, per loop item) fails
   * that item or run with `unreachable: true` in its result, counted as ignored: the host goes on.
   */
  ignoreUnreachable?: boolean;
  /** `throttle:`, `limits:`, `loop_control.parallel`/`break_when` (engine/playbook/parse-limits.ts). */
  concurrency?: TaskConcurrency;
}

/** One keyed limit as written: `key` and `max` may be templates, rendered per host and loop item. */
export interface LimitSpec {
  key: string;
  max: number | string;
  pos: SourcePos;
}

export interface TaskConcurrency {
  /** At most this many runs of the task at once, over all hosts and loop items. */
  throttle?: number | string;
  limits: LimitSpec[];
  /** Loop items of one host run up to this many at once (default 1: one after another). */
  loopParallel?: number | string;
  /** Once true for an item's result (under the register name), no further item starts. */
  breakWhen?: Array<string | boolean>;
}

export interface Block extends TaskCommon {
  kind: 'block';
  block: TaskNode[];
  rescue: TaskNode[];
  always: TaskNode[];
}

/** `meta: flush_handlers` (the only meta action supported). */
export interface FlushHandlers extends TaskCommon {
  kind: 'flush_handlers';
}

export type TaskNode = Task | Block | FlushHandlers;

export interface Play {
  name: string;
  /** Host pattern as written. */
  hosts: string;
  vars: Record<string, unknown>;
  /** Paths resolved relative to the playbook, already loaded into `vars` in order. */
  varsFiles: string[];
  become: boolean | string;
  becomeUser?: string;
  gatherFacts: boolean;
  /** Batch sizes: numbers or "30%" strings; empty = all hosts in one batch. */
  serial: Array<number | string>;
  maxFailPercentage?: number;
  anyErrorsFatal: boolean;
  strategy: 'linear' | 'free';
  tags: string[];
  tasks: TaskNode[];
  handlers: Task[];
  /** The defaults/ of the play's roles: below the inventory in precedence. */
  roleDefaults?: Record<string, unknown>;
  pos: SourcePos;
  keyPos: Record<string, SourcePos>;
}

export interface Playbook {
  /** Path as given/resolved (for messages and reports). */
  file: string;
  /** Directory of the playbook: relative paths (vars_files, template src) resolve from it. */
  dir: string;
  plays: Play[];
}
