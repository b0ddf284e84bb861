// One play: its keys checked and typed, vars_files loaded (problems inside them keep their own
// file:line:col), tasks and handlers read, notify names matched against the handlers.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ValidationError } from '../errors.js';
import { closest } from '../module/schema.js';
import { YamlDoc } from '../yaml.js';
import { validatePattern } from '../inventory/patterns.js';
import type { Play, Task, TaskNode } from './types.js';
import { IDENTIFIER, isDict, Reader, type Dict } from './reader.js';
import { becomeOf, becomeUserOf, notifyPos, readHandlers, readTaskList } from './parse-task.js';
import { collectingRoles, readRoles } from './roles.js';

const PLAY_KEYS = [
  'name', 'hosts', 'vars', 'vars_files', 'become', 'become_user', 'gather_facts', 'facts', 'serial',
  'max_fail_percentage', 'any_errors_fatal', 'strategy', 'tags', 'tasks', 'handlers', 'pre_tasks', 'post_tasks', 'roles',
];

function hostsOf(r: Reader, play: Dict): string {
  const v = play.hosts;
  if (v === undefined || v === null) {
    r.add(r.at(play), `play${play.name ? ` '${String(play.name)}'` : ''} has no 'hosts': name the hosts or groups it runs on (e.g. hosts: hypervisors)`);
    return '';
  }
  // Ansible accepts a list of patterns: the union.
  const pattern = Array.isArray(v) ? v.map(String).join(':') : typeof v === 'string' ? v : undefined;
  if (pattern === undefined) {
    r.add(r.at(play, 'hosts'), `hosts: expected a host pattern string, got ${JSON.stringify(v)}`);
    return '';
  }
  const bad = pattern.includes('{{') ? undefined : validatePattern(pattern);
  if (bad) r.add(r.at(play, 'hosts'), `hosts: ${bad}`);
  return pattern;
}

function serialOf(r: Reader, play: Dict): Array<number | string> {
  const v = play.serial;
  if (v === undefined || v === null) return [];
  const items = Array.isArray(v) ? v : [v];
  const out: Array<number | string> = [];
  items.forEach((s, i) => {
    const pos = Array.isArray(v) ? r.at(v, i) : r.at(play, 'serial');
    if (typeof s === 'number' && Number.isInteger(s) && s >= 1) out.push(s);
    else if (typeof s === 'string' && /^\d+$/.test(s.trim()) && Number(s) >= 1) out.push(Number(s));
    else if (typeof s === 'string' && /^\d+(\.\d+)?%$/.test(s.trim()) && Number(s.trim().slice(0, -1)) > 0 && Number(s.trim().slice(0, -1)) <= 100) out.push(s.trim());
    else r.add(pos, `serial: expected a batch size (a positive integer or a percentage like "30%"), got ${JSON.stringify(s)}`);
  });
  return out;
}

function varsFilesOf(r: Reader, play: Dict, dir: string, vars: Dict): string[] {
  const files = r.strList(play, 'vars_files');
  const list = play.vars_files;
  const out: string[] = [];
  files.forEach((f, i) => {
    const pos = Array.isArray(list) ? r.at(list, i) : r.at(play, 'vars_files');
    if (f.includes('{{')) {
      r.add(pos, `vars_files: templated paths are not supported ('${f}'): name the file`);
      return;
    }
    const path = isAbsolute(f) ? f : resolve(dir, f);
    if (!existsSync(path)) {
      r.add(pos, `vars_files: file not found: ${f}${isAbsolute(f) ? "" : " (relative to the playbook's directory)"}`);
      return;
    }
    out.push(path);
    try {
      const display = isAbsolute(f) ? f : join(dirname(r.doc.file), f);
      const doc = YamlDoc.load(path, display);
      if (doc.data === null || doc.data === undefined) return;
      if (!isDict(doc.data)) {
        r.add(doc.pos(doc.data), `vars file must be a dict of variables, got ${Array.isArray(doc.data) ? 'a list' : JSON.stringify(doc.data)}`);
        return;
      }
      for (const k of Object.keys(doc.data)) if (!IDENTIFIER.test(k)) r.add(doc.pos(doc.data, k), `'${k}' is not a valid variable name`);
      Object.assign(vars, doc.data);
    } catch (e) {
      if (e instanceof ValidationError) r.problems.push(...e.problems);
      else throw e;
    }
  });
  return out;
}

function collectTasks(nodes: TaskNode[], into: Task[] = []): Task[] {
  for (const n of nodes) {
    if (n.kind === 'task') into.push(n);
    else if (n.kind === 'block') collectTasks([...n.block, ...n.rescue, ...n.always], into);
  }
  return into;
}

/** Every `notify:` must name a handler (by name or by one of its `listen` topics). */
function checkNotify(r: Reader, tasks: Task[], handlers: Task[]): void {
  const topics = new Set<string>();
  for (const h of handlers) {
    if (h.name) topics.add(h.name);
    for (const l of h.listen) topics.add(l);
  }
  for (const t of [...tasks, ...handlers]) {
    t.notify.forEach((n, i) => {
      if (n.includes('{{') || topics.has(n)) return;
      const hint = closest(n, [...topics]);
      const pos = notifyPos.get(t)?.[i] ?? t.keyPos.notify ?? t.pos;
      r.add(pos, `notify: no handler named '${n}'${hint ? ` (did you mean '${hint}'?)` : ''}${topics.size ? `; handlers: ${[...topics].sort().join(', ')}` : '; this play has no handlers'}`);
    });
  }
}

export function readPlay(r: Reader, play: Dict, dir: string): Play {
  r.unknownKeys(play, PLAY_KEYS, 'play key');
  const hosts = hostsOf(r, play);
  const vars: Dict = { ...(r.dict(play, 'vars') ?? {}) };
  for (const k of Object.keys(vars)) if (!IDENTIFIER.test(k)) r.add(r.at(play.vars, k), `vars: '${k}' is not a valid variable name`);
  const varsFiles = varsFilesOf(r, play, dir, vars);
  if (play.gather_facts !== undefined && play.facts !== undefined) r.add(r.at(play, 'facts'), `use either gather_facts or facts, not both`);
  const gather = r.bool(play, play.facts !== undefined ? 'facts' : 'gather_facts');
  const strategy = r.str(play, 'strategy');
  if (strategy !== undefined && strategy !== 'linear' && strategy !== 'free') r.add(r.at(play, 'strategy'), `strategy: must be 'linear' or 'free', got '${strategy}'`);
  // Ansible's order: pre_tasks, roles, tasks, post_tasks; roles add handlers and defaults.
  const withRoles = collectingRoles(dir, () => [...readTaskList(r, play, 'pre_tasks'), ...readRoles(r, play, dir), ...readTaskList(r, play, 'tasks'), ...readTaskList(r, play, 'post_tasks')]);
  const tasks = withRoles.value;
  const handlers = [...readHandlers(r, play), ...withRoles.handlers];
  checkNotify(r, collectTasks(tasks), handlers);
  return {
    name: r.str(play, 'name') ?? hosts,
    hosts,
    vars,
    varsFiles,
    become: becomeOf(r, play) ?? false,
    becomeUser: becomeUserOf(r, play),
    gatherFacts: gather ?? true,
    serial: serialOf(r, play),
    maxFailPercentage: r.num(play, 'max_fail_percentage', 0, 100),
    anyErrorsFatal: r.bool(play, 'any_errors_fatal') ?? false,
    strategy: strategy === 'free' ? 'free' : 'linear',
    tags: r.strList(play, 'tags', true),
    tasks,
    handlers,
    roleDefaults: withRoles.defaults,
    pos: r.at(play),
    keyPos: r.keyPos(play),
  };
}
