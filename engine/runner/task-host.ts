// The Host a module sees for one task: become settings of the task applied by default,
// so no module has to remember to pass them.
import type { Host, RunOptions, WriteOptions, WriteResult } from '../connection/host.js';
import { PlayError, TimeoutError, formatPos } from '../errors.js';
import { renderString, type TemplateOrigin } from '../lang/template.js';
import { userNameProblem } from '../module/name-rules.js';
import { boolWord } from '../module/schema.js';

/**
 * `deadline` (epoch ms, from the task's `timeout:`) bounds every command, so a timed-out task
 * really stops its command instead of only being reported as failed while it runs on.
 * `signal` (the run's interruption) stops every command, read and write of the task when it
 * aborts; a module's own cleanup passes `signal: undefined` to run after the interruption.
 */
export function taskHost(base: Host, become: boolean, becomeUser: string | undefined, deadline?: number, signal?: AbortSignal, backups?: RunBackups): Host {
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
    writeFile: (path: string, content: string | Buffer, opts?: WriteOptions) => writeOnce(base, backups, path, content, withBecome(opts)),
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

/** Backups made during one run, by host and path (see writeOnce). */
export type RunBackups = Map<string, { backupPath?: string }>;

/**
 * One backup per file per run: the content a later task replaces was written by this run, and
 * the first backup already holds the file as it was before the run (a 2,000-task playbook
 * editing one ini file left 399 backups of it). Later writes report that first backup.
 * `backup`: whether this write makes one; `made(path)`: the backup to report once it is written.
 */
export function backupOnce(backups: RunBackups | undefined, host: string, path: string, wanted: boolean): { backup: boolean; made(backupPath?: string): string | undefined } {
  const key = `${host}\0${path}`;
  const first = wanted ? backups?.get(key) : undefined;
  return {
    backup: wanted && !first,
    made(backupPath) {
      if (first) return first.backupPath;
      if (wanted && backups) backups.set(key, { backupPath });
      return backupPath;
    },
  };
}

async function writeOnce(base: Host, backups: RunBackups | undefined, path: string, content: string | Buffer, opts: WriteOptions): Promise<WriteResult> {
  const once = backupOnce(backups, base.name, path, opts.backup === true);
  const r = await base.writeFile(path, content, { ...opts, backup: once.backup });
  const backupPath = once.made(r.backupPath);
  return backupPath ? { backupPath } : {};
}
