// import_tasks / include_tasks / import_role / include_role inside a task list: the named file's
// tasks are read where they are written (problems inside it name that file), and become a block
// carrying the include's own keywords (when, tags, vars, become…), as Ansible applies them to each
// imported task. Both spellings load statically, before any host is touched.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { PlayError, ValidationError } from '../errors.js';
import { renderString } from '../lang/template.js';
import { YamlDoc } from '../yaml.js';
import type { Block, TaskNode } from './types.js';
import { isDict, Reader, type Dict } from './reader.js';
import { readCommon, readTaskList } from './parse-task.js';
import { currentPlaybookDir, defined, loadRole } from './roles.js';

export const TASK_INCLUDES = ['import_tasks', 'include_tasks', 'ansible.builtin.import_tasks', 'ansible.builtin.include_tasks'];
export const ROLE_INCLUDES = ['import_role', 'include_role', 'ansible.builtin.import_role', 'ansible.builtin.include_role'];
const INCLUDE_KEYWORDS = ['name', 'when', 'tags', 'become', 'become_user', 'vars', 'ignore_errors', 'delegate_to', 'run_once', 'check_mode', 'no_log'];

/** The include key of a task entry, if it is one. */
export function includeKeyOf(item: Dict): string | undefined {
  return [...TASK_INCLUDES, ...ROLE_INCLUDES].find((k) => k in item);
}

/** The absolute directory of the file a Reader reads: includes resolve from it, then from the playbook's. */
const fileDirs = new WeakMap<YamlDoc, string>();
export const docDir = (doc: YamlDoc): string => fileDirs.get(doc) ?? dirname(resolve(doc.file));

/** Files being read, innermost last: an include of one of them is a loop. */
const reading: string[] = [];

/**
 * Reads a YAML file of the playbook (a tasks file, a role's main.yml, an imported playbook) with
 * a Reader of its own that adds to the same problems; undefined when it cannot be read (the
 * problem is recorded). `display` is how messages name it.
 */
export function readFileDoc(r: Reader, path: string, at: Parameters<Reader['add']>[0], what: string): Reader | undefined {
  if (reading.includes(path)) {
    r.add(at, `${what}: '${path}' includes itself (through ${reading.map((p) => relative(process.cwd(), p) || p).join(' → ')})`);
    return undefined;
  }
  try {
    const doc = YamlDoc.load(path, relative(process.cwd(), path).startsWith('..') ? path : relative(process.cwd(), path) || path);
    fileDirs.set(doc, dirname(path));
    return new Reader(doc, r.problems);
  } catch (e) {
    if (e instanceof ValidationError) r.problems.push(...e.problems);
    else throw e;
    return undefined;
  }
}

/** Runs `body` while `path` counts as being read (for include loops). */
export function whileReading<T>(path: string, body: () => T): T {
  reading.push(path);
  try {
    return body();
  } finally {
    reading.pop();
  }
}

/**
 * Extra vars (-e) of the run being loaded: an include's file name may be a template of these
 * only, since includes are loaded before any host (or its variables) is known.
 */
let loadVars: Record<string, unknown> = {};
export function withLoadVars<T>(vars: Record<string, unknown>, body: () => T): T {
  const before = loadVars;
  loadVars = vars;
  try {
    return body();
  } finally {
    loadVars = before;
  }
}

/** The include's file name, rendered with the -e vars when it is a template; undefined on a problem (recorded). */
function includeName(r: Reader, item: Dict, key: string, name: string): string | undefined {
  if (!name.includes('{{')) return name;
  const at = r.at(item, key);
  try {
    const v = renderString(name, loadVars, { file: at?.file ?? r.doc.file, line: at?.line, col: at?.col, field: key });
    if (typeof v === 'string' && v.trim() !== '') return v;
    r.add(at, `${key}: '${name}' rendered to ${JSON.stringify(v)}, not a file name`);
  } catch (e) {
    if (!(e instanceof PlayError)) throw e;
    r.add(at, `${key}: a templated file name may use only -e extra vars (includes are loaded before any host is known): ${e.message}`);
  }
  return undefined;
}

/** A file named by -e: relative to the directory play was started in. */
function findFromCwd(name: string): string | undefined {
  const p = resolve(name);
  return existsSync(p) ? p : undefined;
}

/** The include's file: relative to the including file's directory, then the playbook's. */
function findFile(r: Reader, name: string, playbookDir: string): string | undefined {
  if (isAbsolute(name)) return existsSync(name) ? name : undefined;
  for (const base of [docDir(r.doc), resolve(docDir(r.doc), '..', 'tasks'), playbookDir]) {
    const p = resolve(base, name);
    if (existsSync(p)) return p;
  }
  return undefined;
}

function tasksOfFile(r: Reader, item: Dict, key: string, playbookDir: string): TaskNode[] {
  const name = item[key];
  if (typeof name !== 'string' || name.trim() === '') {
    r.add(r.at(item, key), `${key}: expected the path of a tasks file, got ${JSON.stringify(name)}`);
    return [];
  }
  const file = includeName(r, item, key, name);
  if (file === undefined) return [];
  const path = findFile(r, file, playbookDir) ?? (file !== name ? findFromCwd(file) : undefined);
  if (!path) {
    const where = file !== name ? `, the current directory` : '';
    r.add(r.at(item, key), `${key}: file not found: ${file}${file !== name ? ` (from ${name})` : ''} (looked next to ${r.doc.file}${where} and in the playbook's directory)`);
    return [];
  }
  const sub = readFileDoc(r, path, r.at(item, key), key);
  if (!sub) return [];
  return whileReading(path, () => tasksFromDoc(sub));
}

/** A tasks file: a list of tasks (an empty file is an empty list). */
export function tasksFromDoc(r: Reader): TaskNode[] {
  const data = r.doc.data;
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data)) {
    r.add(r.at(data), `a tasks file is a list of tasks (each starting with '- name: …'), got ${isDict(data) ? 'a dict' : JSON.stringify(data)}`);
    return [];
  }
  return readTaskList(r, { tasks: data }, 'tasks');
}

/** An include entry → a block of the included tasks with the include's keywords. */
export function readInclude(r: Reader, item: Dict, key: string): Block | undefined {
  const playbookDir = currentPlaybookDir() ?? docDir(r.doc);
  r.unknownKeys(item, [key, ...INCLUDE_KEYWORDS, ...(ROLE_INCLUDES.includes(key) ? [] : ['args'])], `keyword for ${key}`);
  const base = readCommon(r, item);
  if (ROLE_INCLUDES.includes(key)) {
    const spec = item[key];
    const role = isDict(spec) ? spec : undefined;
    if (!role || typeof role.name !== 'string') {
      r.add(r.at(item, key), `${key}: expected a dict with the role's name (${key}: { name: ROLE })`);
      return undefined;
    }
    r.unknownKeys(role, ['name', 'tasks_from', 'vars_from', 'defaults_from', 'handlers_from', 'public', 'apply'], `${key} key`);
    const loaded = loadRole(r, role.name, r.at(role, 'name'), playbookDir, { tasksFrom: typeof role.tasks_from === 'string' ? role.tasks_from : undefined });
    if (!loaded) return undefined;
    return { ...loaded, ...defined(base), vars: { ...loaded.vars, ...base.vars }, kind: 'block' };
  }
  return { ...base, kind: 'block', block: tasksOfFile(r, item, key, playbookDir), rescue: [], always: [] };
}

export const IMPORT_KEYS = ['import_playbook', 'ansible.builtin.import_playbook'];

/** `- import_playbook: other.yml` (with an optional name): the file's Reader, or undefined (problem recorded). */
export function importedPlaybook(r: Reader, item: Dict): { path: string; reader: Reader } | undefined {
  const key = IMPORT_KEYS.find((k) => k in item);
  if (!key) return undefined;
  r.unknownKeys(item, [key, 'name', 'vars', 'when', 'tags'], `keyword for ${key}`);
  for (const k of ['vars', 'when', 'tags']) if (k in item) r.add(r.at(item, k), `${key}: '${k}' on an imported playbook is not supported: put it on its plays`);
  const name = item[key];
  if (typeof name !== 'string' || name.trim() === '' || name.includes('{{')) {
    r.add(r.at(item, key), `${key}: expected the path of a playbook file, got ${JSON.stringify(name)}`);
    return undefined;
  }
  const path = isAbsolute(name) ? name : resolve(docDir(r.doc), name);
  if (!existsSync(path)) {
    r.add(r.at(item, key), `${key}: file not found: ${name} (relative to ${docDir(r.doc)})`);
    return undefined;
  }
  const reader = readFileDoc(r, path, r.at(item, key), key);
  return reader ? { path, reader } : undefined;
}
