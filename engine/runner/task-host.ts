// The Host a module sees for one task: become settings of the task applied by default,
// so no module has to remember to pass them.
import type { Host, RunOptions, WriteOptions } from '../host.js';
import { TimeoutError } from '../errors.js';

/**
 * `deadline` (epoch ms, from the task's `timeout:`) bounds every command, so a timed-out task
 * really stops its command instead of only being reported as failed while it runs on.
 * `signal` (the run's interruption) stops every command, read and write of the task when it
 * aborts; a module's own cleanup passes `signal: undefined` to run after the interruption.
 */
export function taskHost(base: Host, become: boolean, becomeUser: string | undefined, deadline?: number, signal?: AbortSignal): Host {
  const withBecome = <T extends { become?: boolean; becomeUser?: string; signal?: AbortSignal }>(o: T | undefined): T =>
    ({ become, becomeUser, signal, ...(o ?? {}) }) as T;
  const bounded = (o: RunOptions): RunOptions => {
    if (deadline === undefined) return o;
    const left = deadline - Date.now();
    if (left <= 0) throw new TimeoutError(`${base.name}: the task's timeout expired`);
    return { ...o, timeoutMs: Math.min(o.timeoutMs ?? left, left) };
  };
  return {
    name: base.name,
    run: async (cmd: string, opts?: RunOptions) => base.run(cmd, bounded(withBecome(opts))),
    runBytes: async (cmd: string, opts?: RunOptions) => base.runBytes(cmd, bounded(withBecome(opts))),
    readFile: (path: string, opts?: { become?: boolean; becomeUser?: string; signal?: AbortSignal }) => base.readFile(path, withBecome(opts)),
    writeFile: (path: string, content: string | Buffer, opts?: WriteOptions) => base.writeFile(path, content, withBecome(opts)),
    close: () => base.close(),
  };
}
