// The Host a module sees for one task: become settings of the task applied by default,
// so no module has to remember to pass them.
import type { Host, RunOptions, WriteOptions } from '../host.js';
import { PlayError, TimeoutError, formatPos } from '../errors.js';
import { renderString, type TemplateOrigin } from '../template.js';
import { userNameProblem } from '../name-rules.js';
import { boolWord } from '../schema.js';

/**
 * `deadline` (epoch ms, from the task's `timeout:`) bounds every command, so a timed-out task
 * really stops its command instead of only being reported as failed while it runs on.
 */
export function taskHost(base: Host, become: boolean, becomeUser: string | undefined, deadline?: number): Host {
  const withBecome = <T extends { become?: boolean; becomeUser?: string }>(o: T | undefined): T =>
    ({ become, becomeUser, ...(o ?? {}) }) as T;
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
    readFile: (path: string, opts?: { become?: boolean; becomeUser?: string }) => base.readFile(path, withBecome(opts)),
    writeFile: (path: string, content: string | Buffer, opts?: WriteOptions) => base.writeFile(path, content, withBecome(opts)),
    close: () => base.close(),
  };
}

/** `become: "{{ use_sudo }}"` is rendered with the task's variables, as Ansible does, then read as a boolean. */
export function renderBecome(raw: boolean | string, vars: Record<string, unknown>, where: TemplateOrigin): boolean {
  if (typeof raw === 'boolean') return raw;
  const v = renderString(raw, vars, where);
  const b = boolWord(v);
  if (b !== undefined) return b;
  throw new PlayError(`${formatPos(where)}: become: expected a boolean, got ${JSON.stringify(v)} from ${JSON.stringify(raw)}`);
}

/** `become_user: "{{ admin }}"` is rendered with the task's variables, as Ansible does, then checked. */
export function renderBecomeUser(raw: string | undefined, vars: Record<string, unknown>, where: TemplateOrigin): string | undefined {
  if (raw === undefined) return undefined;
  const v = renderString(raw, vars, where);
  const user = typeof v === 'string' || typeof v === 'number' ? String(v) : undefined;
  const problem = user === undefined ? `expected a user name, got ${JSON.stringify(v)}` : userNameProblem(user);
  if (problem) throw new PlayError(`${formatPos(where)}: become_user: ${problem}`);
  return user;
}
