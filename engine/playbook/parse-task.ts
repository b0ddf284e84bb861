// Tasks, blocks, `meta: flush_handlers` and handlers: keywords checked and typed, the module
// found and its parameters validated, conditions parsed (syntax errors point into the text).
import type { SourcePos } from '../errors.js';
import { closest, isTemplated } from '../module/schema.js';
import { userNameProblem } from '../module/name-rules.js';
import { checkExpression } from '../lang/expr.js';
import { getModule, moduleNames } from '../../modules/index.js';
import type { Block, FlushHandlers, Task, TaskCommon, TaskNode } from './types.js';
import { IDENTIFIER, isDict, type Dict, type Reader } from './reader.js';
import { readModuleCall, resolveModule } from './params.js';
import { includeKeyOf, readInclude } from './includes.js';
import { CONCURRENCY_KEYWORDS, LOOP_CONTROL_CONCURRENCY, readConcurrency } from './parse-limits.js';

const COMMON = ['name', 'when', 'tags', 'become', 'become_user', 'vars', 'ignore_errors', 'delegate_to', 'run_once', 'check_mode', 'no_log'];
const TASK_ONLY = ['loop', 'with_items', 'loop_control', 'register', 'notify', 'changed_when', 'failed_when', 'retries', 'until', 'delay', 'timeout', 'args', 'ignore_unreachable', ...CONCURRENCY_KEYWORDS];
const TASK_KEYWORDS = [...COMMON, ...TASK_ONLY];
const HANDLER_KEYWORDS = [...TASK_KEYWORDS, 'listen'];
const BLOCK_KEYWORDS = [...COMMON, 'block', 'rescue', 'always'];
const META_KEYWORDS = ['name', 'when', 'tags', 'meta'];
const META_KEYS = ['meta', 'ansible.builtin.meta'];

/** Where each `notify:` name is written, for "no such handler" problems. */
export const notifyPos = new WeakMap<Task, SourcePos[]>();

/** Ansible's default seconds between retries. */
const DEFAULT_DELAY = 5;

/** `when:`-like conditions: a string, a boolean, or a list of them; each checked for syntax. */
function conditions(r: Reader, node: Dict, key: string): Array<string | boolean> | undefined {
  const v = node[key];
  if (v === undefined || v === null) return undefined;
  const items = Array.isArray(v) ? v : [v];
  const out: Array<string | boolean> = [];
  items.forEach((c, i) => {
    const pos = Array.isArray(v) ? r.at(v, i) : r.at(node, key);
    if (typeof c === 'boolean') out.push(c);
    else if (typeof c === 'string') {
      for (const msg of checkExpression(c)) {
        const col = /at column (\d+)/.exec(msg);
        r.add(col ? r.inside(pos, c, Number(col[1]), !Array.isArray(v)) : pos, `${key}: ${msg} in "${c}"`);
      }
      out.push(c);
    } else r.add(pos, `${key}: expected an expression string or true/false, got ${JSON.stringify(c)}`);
  });
  return out;
}

/** become: a boolean, or a template rendered per host at run time. */
export function becomeOf(r: Reader, node: Dict): boolean | string | undefined {
  const v = node.become;
  if (typeof v === 'string' && isTemplated(v)) return v;
  return r.bool(node, 'become');
}

/** become_user: a user name, or a template rendered per host at run time (checked again then). */
export function becomeUserOf(r: Reader, node: Dict): string | undefined {
  const v = r.str(node, 'become_user');
  const problem = v === undefined || isTemplated(v) ? undefined : userNameProblem(v);
  if (problem) r.add(r.at(node, 'become_user'), `become_user: ${problem}`);
  return v;
}

function common(r: Reader, node: Dict): TaskCommon {
  const ie = node.ignore_errors;
  let ignoreErrors: boolean | string | undefined;
  if (typeof ie === 'string') ignoreErrors = conditions(r, node, 'ignore_errors')?.[0];
  else ignoreErrors = r.bool(node, 'ignore_errors');
  const vars = r.dict(node, 'vars') ?? {};
  for (const k of Object.keys(vars)) if (!IDENTIFIER.test(k)) r.add(r.at(vars, k), `vars: '${k}' is not a valid variable name`);
  return {
    name: r.str(node, 'name'),
    when: conditions(r, node, 'when') ?? [],
    tags: r.strList(node, 'tags', true),
    become: becomeOf(r, node),
    becomeUser: becomeUserOf(r, node),
    vars,
    ignoreErrors,
    delegateTo: r.str(node, 'delegate_to'),
    runOnce: r.bool(node, 'run_once'),
    checkMode: r.bool(node, 'check_mode'),
    noLog: r.bool(node, 'no_log'),
    pos: r.at(node),
    keyPos: r.keyPos(node),
  };
}

function moduleKey(r: Reader, node: Dict, keywords: string[]): { key: string; module: string } | undefined {
  const candidates = Object.keys(node).filter((k) => !keywords.includes(k));
  const mods = candidates.filter((k) => resolveModule(k));
  const hint = (k: string, pool: string[]) => {
    const h = closest(k, pool);
    return h ? ` (did you mean '${h}'?)` : '';
  };
  for (const k of candidates) {
    if (resolveModule(k)) continue;
    if (mods.length === 0 && candidates.length === 1) {
      r.add(r.at(node, k), `unknown module '${k}'${hint(k, [...moduleNames(), ...keywords])}; run 'play modules' to list them`);
    } else {
      r.add(r.at(node, k), `unknown task keyword '${k}'${hint(k, [...keywords, ...moduleNames()])}; valid keywords: ${[...keywords].sort().join(', ')}`);
    }
  }
  if (mods.length > 1) {
    r.add(r.at(node, mods[1]), `a task runs one module, this one names ${mods.length}: ${mods.map((m) => `'${m}'`).join(', ')} (split it into ${mods.length} tasks)`);
  }
  if (candidates.length === 0) {
    r.add(r.at(node), `task${node.name ? ` '${String(node.name)}'` : ''} has no module: add one (run 'play modules' to list them)`);
  }
  return mods.length ? { key: mods[0], module: resolveModule(mods[0])! } : undefined;
}

function loopOf(r: Reader, node: Dict): unknown {
  if (node.loop !== undefined && node.with_items !== undefined) r.add(r.at(node, 'with_items'), `use either loop or with_items, not both`);
  const key = node.loop !== undefined ? 'loop' : 'with_items';
  const v = node[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v) || (typeof v === 'string' && v.includes('{{'))) return v;
  r.add(r.at(node, key), `${key}: expected a list or a template naming one (e.g. "{{ interfaces }}"), got ${JSON.stringify(v)}`);
  return undefined;
}

function loopVarOf(r: Reader, node: Dict): string {
  const lc = r.dict(node, 'loop_control');
  if (!lc) return 'item';
  r.unknownKeys(lc, ['loop_var', 'label', ...LOOP_CONTROL_CONCURRENCY], 'loop_control key');
  const v = r.str(lc, 'loop_var');
  if (v !== undefined && !IDENTIFIER.test(v)) r.add(r.at(lc, 'loop_var'), `loop_var: '${v}' is not a valid variable name`);
  return v ?? 'item';
}

export function readTask(r: Reader, node: Dict, handler: boolean): Task | undefined {
  const keywords = handler ? HANDLER_KEYWORDS : TASK_KEYWORDS;
  const found = moduleKey(r, node, keywords);
  const base = common(r, node);
  const register = r.str(node, 'register');
  if (register !== undefined && !IDENTIFIER.test(register)) r.add(r.at(node, 'register'), `register: '${register}' is not a valid variable name (letters, digits, _)`);
  const retries = r.num(node, 'retries', 0, Infinity, true);
  let until = conditions(r, node, 'until');
  // Ansible: retries without until retries until the task succeeds.
  if (retries !== undefined && until === undefined) until = [true];
  const call = found ? readModuleCall(r, node, found.key, getModule(found.module)!) : undefined;
  const n = node.notify;
  const timeout = r.num(node, 'timeout', 0);
  if (timeout === 0) r.add(r.at(node, 'timeout'), `timeout: must be more than 0 seconds`);
  const task: Task = {
    ...base,
    kind: 'task',
    module: found?.module ?? '',
    params: call?.params ?? {},
    paramPos: call?.paramPos ?? {},
    loop: loopOf(r, node),
    loopVar: loopVarOf(r, node),
    loopLabel: r.dict(node, 'loop_control') ? r.str(r.dict(node, 'loop_control')!, 'label') : undefined,
    register,
    notify: r.strList(node, 'notify'),
    changedWhen: conditions(r, node, 'changed_when'),
    failedWhen: conditions(r, node, 'failed_when'),
    until,
    retries,
    delay: r.num(node, 'delay', 0) ?? DEFAULT_DELAY,
    timeout: timeout || undefined,
    listen: handler ? r.strList(node, 'listen') : [],
  };
  const ignoreUnreachable = r.bool(node, 'ignore_unreachable');
  if (ignoreUnreachable) task.ignoreUnreachable = true;
  const concurrency = readConcurrency(r, node, conditions);
  if (concurrency) task.concurrency = concurrency;
  notifyPos.set(task, Array.isArray(n) ? n.map((_, i) => r.at(n, i)) : [r.at(node, 'notify')]);
  return found ? task : undefined;
}

function readBlock(r: Reader, node: Dict): Block {
  r.unknownKeys(node, BLOCK_KEYWORDS, 'block keyword');
  return {
    ...common(r, node),
    kind: 'block',
    block: readTaskList(r, node, 'block'),
    rescue: readTaskList(r, node, 'rescue'),
    always: readTaskList(r, node, 'always'),
  };
}

function readMeta(r: Reader, node: Dict, key: string): FlushHandlers | undefined {
  r.unknownKeys(node, [...META_KEYWORDS, key], 'keyword for meta');
  if (node[key] !== 'flush_handlers') {
    r.add(r.at(node, key), `meta: only 'flush_handlers' is supported, got ${JSON.stringify(node[key])}`);
    return undefined;
  }
  const c = common(r, node);
  return { ...c, kind: 'flush_handlers' };
}

/** A list of tasks under `key` of `parent` (tasks, block, rescue, …). */
export function readTaskList(r: Reader, parent: Dict, key: string): TaskNode[] {
  const list = r.list(parent, key) ?? [];
  const out: TaskNode[] = [];
  list.forEach((item, i) => {
    if (!isDict(item)) {
      r.add(r.at(list, i), `${key}[${i}]: expected a task (a dict), got ${JSON.stringify(item)}`);
      return;
    }
    const meta = META_KEYS.find((k) => k in item);
    const include = includeKeyOf(item);
    const node = 'block' in item ? readBlock(r, item) : meta ? readMeta(r, item, meta) : include ? readInclude(r, item, include) : readTask(r, item, false);
    if (node) out.push(node);
  });
  return out;
}

export { common as readCommon };

export function readHandlers(r: Reader, play: Dict): Task[] {
  const list = r.list(play, 'handlers') ?? [];
  const out: Task[] = [];
  list.forEach((item, i) => {
    if (!isDict(item)) {
      r.add(r.at(list, i), `handlers[${i}]: expected a task (a dict), got ${JSON.stringify(item)}`);
      return;
    }
    if ('block' in item) {
      r.add(r.at(item, 'block'), `handlers cannot be blocks`);
      return;
    }
    if (item.name === undefined && item.listen === undefined) r.add(r.at(item), `a handler needs a name (or listen) that tasks can notify`);
    const t = readTask(r, item, true);
    if (t) out.push(t);
  });
  return out;
}
