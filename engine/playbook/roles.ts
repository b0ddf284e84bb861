// Roles, as Ansible lays them out: roles/NAME/{tasks,handlers,defaults,vars}/main.yml plus
// templates/ and files/ for template/copy src. A role becomes a block of its tasks whose vars are
// the role's vars/ (and the parameters it was given); its handlers join the play's, and its
// defaults/ sit below the inventory (Play.roleDefaults), where an operator's group_vars win.
import { existsSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { SourcePos } from '../errors.js';
import type { Block, Task, TaskNode } from './types.js';
import { IDENTIFIER, isDict, type Dict, type Reader } from './reader.js';
import { readCommon, readHandlers } from './parse-task.js';
import { readFileDoc, tasksFromDoc, whileReading } from './includes.js';

/** What the roles of the play being read add to it besides their tasks. */
interface PlayRoles {
  /** The playbook's directory: roles/ and include files are found from it. */
  playbookDir: string;
  handlers: Task[];
  defaults: Record<string, unknown>;
  /** A role loaded twice in a play adds its handlers once. */
  seen: Set<string>;
}

const current: PlayRoles[] = [];

/** Collects what roles add while `body` reads a play (tasks, include_role, roles:). */
export function collectingRoles<T>(playbookDir: string, body: () => T): { value: T; handlers: Task[]; defaults: Record<string, unknown> } {
  const c: PlayRoles = { playbookDir, handlers: [], defaults: {}, seen: new Set() };
  current.push(c);
  try {
    const value = body();
    return { value, handlers: c.handlers, defaults: c.defaults };
  } finally {
    current.pop();
  }
}

/** The directory of the playbook whose play is being read (includes outside a play: the file's own). */
export const currentPlaybookDir = (): string | undefined => current[current.length - 1]?.playbookDir;

/** The role's directory: roles/NAME beside the playbook, then NAME as a path from it. */
function findRole(name: string, playbookDir: string): string | undefined {
  const candidates = isAbsolute(name) ? [name] : [join(playbookDir, 'roles', name), resolve(playbookDir, name)];
  return candidates.find((p) => existsSync(p) && statSync(p).isDirectory());
}

function mainFile(dir: string, sub: string, base = 'main'): string | undefined {
  return [join(dir, sub, `${base}.yml`), join(dir, sub, `${base}.yaml`), join(dir, sub, base)].find((p) => existsSync(p) && statSync(p).isFile());
}

/** A role's defaults/ or vars/ file: a dict of variables (problems name the file). */
function varsOfFile(r: Reader, path: string | undefined): Record<string, unknown> {
  if (!path) return {};
  const sub = readFileDoc(r, path, { file: path }, 'role vars');
  if (!sub || sub.doc.data === null || sub.doc.data === undefined) return {};
  const data = sub.doc.data;
  if (!isDict(data)) {
    sub.add(sub.at(data), `a vars file must be a dict of variables, got ${Array.isArray(data) ? 'a list' : JSON.stringify(data)}`);
    return {};
  }
  for (const k of Object.keys(data)) if (!IDENTIFIER.test(k)) sub.add(sub.at(data, k), `'${k}' is not a valid variable name`);
  return data;
}

/** template/copy src written relative: the role's templates/ or files/ first, as Ansible looks. */
function roleSrc(nodes: TaskNode[], dir: string): void {
  for (const n of nodes) {
    if (n.kind === 'block') roleSrc([...n.block, ...n.rescue, ...n.always], dir);
    if (n.kind !== 'task' || (n.module !== 'template' && n.module !== 'copy')) continue;
    const src = n.params.src;
    if (typeof src !== 'string' || src === '' || src.includes('{{') || isAbsolute(src)) continue;
    const inRole = join(dir, n.module === 'template' ? 'templates' : 'files', src);
    if (existsSync(inRole)) n.params = { ...n.params, src: inRole };
  }
}

export interface RoleOptions {
  tasksFrom?: string;
  /** Parameters given with the role (roles: - role: x, vars…): highest among role vars. */
  params?: Record<string, unknown>;
}

/** Loads a role into a block (undefined, with a problem at `at`, when it cannot be found). */
export function loadRole(r: Reader, name: string, at: SourcePos, playbookDir: string, opts: RoleOptions = {}): Block | undefined {
  const dir = findRole(name, playbookDir);
  if (!dir) {
    r.add(at, `role '${name}' not found (looked in ${join(playbookDir, 'roles', name)} and ${resolve(playbookDir, name)})`);
    return undefined;
  }
  const roleName = name.split('/').pop()!;
  const play = current[current.length - 1];
  const tasksPath = mainFile(dir, 'tasks', opts.tasksFrom?.replace(/\.ya?ml$/, '') ?? 'main');
  if (!tasksPath && opts.tasksFrom) r.add(at, `role '${name}': tasks_from '${opts.tasksFrom}' not found in ${join(dir, 'tasks')}`);
  let tasks: TaskNode[] = [];
  const sub = tasksPath ? readFileDoc(r, tasksPath, at, `role '${name}'`) : undefined;
  if (sub && tasksPath) tasks = whileReading(tasksPath, () => tasksFromDoc(sub));
  roleSrc(tasks, dir);
  const vars = { ...varsOfFile(r, mainFile(dir, 'vars')), ...(opts.params ?? {}), role_name: roleName, role_path: dir };
  if (play) {
    Object.assign(play.defaults, varsOfFile(r, mainFile(dir, 'defaults')));
    const handlersPath = mainFile(dir, 'handlers');
    if (handlersPath && !play.seen.has(dir)) {
      const h = readFileDoc(r, handlersPath, at, `role '${name}' handlers`);
      if (h && Array.isArray(h.doc.data)) play.handlers.push(...readHandlers(h, { handlers: h.doc.data }));
      else if (h && h.doc.data != null) h.add(h.at(h.doc.data), 'a handlers file is a list of handlers');
    }
    play.seen.add(dir);
  }
  return { ...readCommon(r, {}), pos: at, keyPos: {}, kind: 'block', block: tasks, rescue: [], always: [], vars };
}

const ROLE_ENTRY_KEYWORDS = ['role', 'name', 'when', 'tags', 'become', 'become_user', 'vars', 'ignore_errors', 'delegate_to', 'run_once', 'check_mode', 'no_log', 'tasks_from'];

/** The play's `roles:` list: each entry a name or a dict (role/name, keywords, and role parameters). */
export function readRoles(r: Reader, play: Dict, playbookDir: string): TaskNode[] {
  const list = r.list(play, 'roles') ?? [];
  const out: TaskNode[] = [];
  list.forEach((entry, i) => {
    const at = r.at(list, i);
    if (typeof entry === 'string') {
      const b = loadRole(r, entry, at, playbookDir);
      if (b) out.push(b);
      return;
    }
    if (!isDict(entry) || typeof (entry.role ?? entry.name) !== 'string') {
      r.add(at, `roles[${i}]: expected a role name or a dict with 'role: NAME', got ${JSON.stringify(entry)}`);
      return;
    }
    const name = String(entry.role ?? entry.name);
    // Ansible's old style: keys that are not keywords are the role's parameters.
    const params: Dict = {};
    const keywords: Dict = {};
    for (const [k, v] of Object.entries(entry)) (ROLE_ENTRY_KEYWORDS.includes(k) ? keywords : params)[k] = v;
    const base = readCommon(r, entry);
    const b = loadRole(r, name, r.at(entry, entry.role !== undefined ? 'role' : 'name'), playbookDir, { params: { ...params, ...base.vars }, tasksFrom: typeof entry.tasks_from === 'string' ? entry.tasks_from : undefined });
    if (!b) return;
    out.push({ ...b, ...defined(base), vars: b.vars, kind: 'block' });
  });
  return out;
}

/** The keywords an include or roles: entry wrote (its name is the role's, not a block name). */
export function defined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([k, v]) => v !== undefined && k !== 'vars' && k !== 'name' && !(Array.isArray(v) && v.length === 0))) as Partial<T>;
}
