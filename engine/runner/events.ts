// What the engine tells renderers while it runs. The engine owns concurrency; renderers only listen.
import type { Play } from '../playbook/types.js';
import type { TaskEvent } from '../results.js';

// Hooks may return a promise: the engine awaits it, so a renderer can finish drawing one task
// before the next one starts.
export interface RunObserver {
  playStart?(play: Play, hosts: string[]): void | Promise<void>;
  /** A task (or handler) starts on these hosts (linear: all of them; free: one host at a time). */
  taskStart?(play: Play, name: string, hosts: string[], handler: boolean): void | Promise<void>;
  hostTaskDone?(event: TaskEvent, handler: boolean): void;
  /** Live status of a running task on a host (a migration's percent and rate): replaces the previous one. */
  hostTaskProgress?(host: string, task: string, line: string): void;
  warning?(message: string): void | Promise<void>;
  /** -v detail lines. */
  verbose?(line: string): void;
  /** The run is over: flush what is still drawing. */
  finish?(): void | Promise<void>;
}
