// The variable check of a loaded play: every template and expression is parsed (syntax errors
// always reported) and, when the caller knows the inventory's variables, every root name used
// must be defined somewhere: inventory, play vars/vars_files, -e, block/task vars, register,
// set_fact, the loop variable, facts (gather_facts) or the engine's magic variables.
import { formatPos, type Problem, type SourcePos } from '../errors.js';
import { closest } from '../module/schema.js';
import { templateVariableUses, templateVariables, TemplateError } from '../lang/template.js';
import { expressionVariables, parseExpression, type ExprNode } from '../lang/expr.js';
import { getModule } from '../../modules/index.js';
import type { Block, Play, Task, TaskCommon, TaskNode } from './types.js';
import { localSrcFile } from './src-files.js';

/** Variables the engine provides on every host (see runner/play.ts and the inventory). */
export const MAGIC_VARIABLES = [
  'inventory_hostname', 'inventory_hostname_short', 'inventory_file', 'inventory_dir', 'group_names', 'groups', 'hostvars',
  'play_hosts', 'ansible_play_hosts', 'ansible_play_hosts_all', 'ansible_play_batch', 'ansible_check_mode', 'playbook_dir',
];
const FACT_VARIABLES = ['facts', 'ansible_facts'];
const LOOP_VARIABLES = ['ansible_loop', 'ansible_loop_var'];

interface Where {
  pos: SourcePos;
  /** `in task 'X'` or `in play 'Y'`, or `(used by task 'X' at file:line:col)` for a template file. */
  owner: string;
  /** The field the text is in; empty for a template file's own text. */
  field: string;
  /** Tells apart reports at one position for different owners (a template file used by two tasks). */
  key?: string;
}

/** Hosts that share one set of inventory (and -e) variable names. */
export interface HostVarSet {
  names: Set<string>;
  hosts: string[];
}

const describe = (w: Where): string => (w.field ? `${w.owner} (field ${w.field})` : w.owner);

/** At most a few host names: a fleet-wide problem must not print a thousand of them. */
export function someHosts(hosts: string[], max = 3): string {
  return hosts.length > max ? `${hosts.slice(0, max).join(', ')}, …` : hosts.join(', ');
}

class VarCheck {
  private readonly seen = new Set<string>();
  private readonly hostCount: number;
  private inventoryNames?: string[];
  constructor(
    readonly problems: Problem[],
    /** Names every host has (magic, play vars, runtime names); undefined skips the undefined-name check. */
    private readonly base: Set<string> | undefined,
    /** The play's hosts grouped by their inventory variable names. */
    private readonly sets: HostVarSet[],
    /** The playbook's directory, for template/copy src files; undefined skips them. */
    readonly dir: string | undefined,
  ) {
    this.hostCount = sets.reduce((n, s) => n + s.hosts.length, 0);
  }

  /**
   * A name is fine when the scope defines it, a `when` proves it defined (`guarded`), or every
   * host the task may run on has it in the inventory; else the hosts lacking it are named.
   */
  private report(names: string[], known: Set<string>, w: Where, guarded?: Set<string>): void {
    if (!this.base) return;
    for (const n of names) {
      if (known.has(n) || guarded?.has(n)) continue;
      const lacking = this.sets.filter((s) => !s.names.has(n));
      if (lacking.length === 0) continue;
      const key = `${w.pos.file}:${w.pos.line}:${w.pos.col}:${n}:${w.key ?? ''}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      if (lacking.length < this.sets.length) {
        const hosts = lacking.flatMap((s) => s.hosts);
        this.problems.push({ pos: w.pos, field: w.field, message: `undefined variable '${n}' on ${hosts.length} of ${this.hostCount} hosts (${someHosts(hosts)}) ${describe(w)}` });
        continue;
      }
      this.inventoryNames ??= [...new Set(this.sets.flatMap((s) => [...s.names]))];
      const hint = closest(n, [...known, ...this.inventoryNames]);
      this.problems.push({ pos: w.pos, field: w.field, message: `undefined variable '${n}'${hint ? ` (did you mean '${hint}'?)` : ''} ${describe(w)}` });
    }
  }

  template(text: string, known: Set<string>, w: Where, guarded?: Set<string>): void {
    if (!text.includes('{{') && !text.includes('{%')) return;
    try {
      this.report(templateVariables(text), known, w, guarded);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      this.problems.push({ pos: w.pos, field: w.field, message: `${e.message} ${describe(w)}` });
    }
  }

  /** A template file: problems at their line:col inside the file, naming the task that uses it. */
  templateFile(path: string, text: string, known: Set<string>, owner: string, guarded: Set<string>): void {
    let uses: ReturnType<typeof templateVariableUses>;
    try {
      uses = templateVariableUses(text);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      const at = e.inner?.line !== undefined ? { file: path, line: e.inner.line, col: e.inner.col } : { file: path };
      this.problems.push({ pos: at, field: 'src', message: `${e.inner?.reason ?? e.message} ${owner}` });
      return;
    }
    for (const u of uses) this.report([u.name], known, { pos: { file: path, line: u.line, col: u.col }, owner, field: '', key: owner }, guarded);
  }

  /** Syntax problems of expressions were reported while reading; only names matter here. */
  expression(conds: Array<string | boolean> | undefined, known: Set<string>, w: Where, guarded?: Set<string>): void {
    for (const c of conds ?? []) {
      if (typeof c !== 'string') continue;
      let names: string[];
      try {
        names = expressionVariables(c);
      } catch {
        continue;
      }
      this.report(names, known, w, guarded);
    }
  }

  deep(value: unknown, path: string, known: Set<string>, w: (path: string) => Where, guarded?: Set<string>): void {
    if (typeof value === 'string') this.template(value, known, w(path), guarded);
    else if (Array.isArray(value)) value.forEach((v, i) => this.deep(v, path ? `${path}.${i}` : String(i), known, w, guarded));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const p = path ? `${path}.${k}` : k;
        this.template(k, known, w(p), guarded);
        this.deep(v, p, known, w, guarded);
      }
    }
  }
}

function allTasks(nodes: TaskNode[], into: Task[] = []): Task[] {
  for (const n of nodes) {
    if (n.kind === 'task') into.push(n);
    else if (n.kind === 'block') allTasks([...n.block, ...n.rescue, ...n.always], into);
  }
  return into;
}

/** Names that exist at run time because some task of the play sets them (register, set_fact). */
export function runtimeNames(play: Play): string[] {
  const out: string[] = [];
  for (const t of [...allTasks(play.tasks), ...play.handlers]) {
    if (t.register) out.push(t.register);
    if (getModule(t.module)?.freeKeys) out.push(...Object.keys(t.params));
  }
  return out;
}

const with_ = (known: Set<string>, names: Iterable<string>): Set<string> => new Set([...known, ...names]);

function rootOf(n: ExprNode): string | undefined {
  if (n.type === 'name') return n.name;
  if (n.type === 'member') return rootOf(n.object);
  return undefined;
}

/**
 * Roots a `when` proves defined before the task runs: `x is defined` (or `x is not undefined`)
 * as a whole condition or an `and` operand. Hosts lacking x skip the task, so its uses are safe.
 */
function definedGuards(conds: Array<string | boolean>, outer: Set<string>): Set<string> {
  const out = new Set(outer);
  const visit = (n: ExprNode): void => {
    if (n.type === 'and') {
      visit(n.left);
      visit(n.right);
    } else if (n.type === 'not' && n.operand.type === 'test') {
      visit({ ...n.operand, negated: !n.operand.negated });
    } else if (n.type === 'test' && ((n.name === 'defined' && !n.negated) || (n.name === 'undefined' && n.negated))) {
      const r = rootOf(n.operand);
      if (r) out.add(r);
    }
  };
  for (const c of conds) {
    if (typeof c !== 'string' || c.includes('{{')) continue;
    try {
      visit(parseExpression(c));
    } catch {
      // a syntax error was reported while reading
    }
  }
  return out;
}

function checkCommon(c: VarCheck, node: TaskCommon, known: Set<string>, owner: string): void {
  const at = (field: string): Where => ({ pos: node.keyPos[field] ?? node.pos, owner, field });
  if (node.name) c.template(node.name, known, at('name'));
  c.expression(node.when, known, at('when'));
  if (node.delegateTo) c.template(node.delegateTo, known, at('delegate_to'));
  if (node.becomeUser) c.template(node.becomeUser, known, at('become_user'));
  if (typeof node.become === 'string') c.template(node.become, known, at('become'));
  if (typeof node.ignoreErrors === 'string') c.expression([node.ignoreErrors], known, at('ignore_errors'));
  c.deep(node.vars, '', known, (p) => ({ pos: node.keyPos.vars ?? node.pos, owner, field: `vars.${p}` }));
}

/** `outerGuards`: names the enclosing blocks' `when` proves defined. */
function checkTask(c: VarCheck, t: Task, outer: Set<string>, outerGuards: Set<string>): void {
  const owner = `in task '${t.name ?? t.module}'`;
  const known = with_(outer, Object.keys(t.vars));
  const inLoop = t.loop !== undefined ? with_(known, [t.loopVar, ...LOOP_VARIABLES]) : known;
  // The loop is rendered before any `when` (the task's and its blocks') is evaluated per item, as
  // in Ansible: `when: x is defined` guards the later fields, never the loop.
  const guards = definedGuards(t.when, outerGuards);
  checkCommon(c, { ...t, vars: {} }, inLoop, owner);
  c.deep(t.vars, '', known, (p) => ({ pos: t.keyPos.vars ?? t.pos, owner, field: `vars.${p}` }));
  const loopKey = t.keyPos.loop ? 'loop' : 'with_items';
  c.deep(t.loop, '', known, () => ({ pos: t.keyPos[loopKey] ?? t.pos, owner, field: loopKey }));
  c.deep(
    t.params,
    '',
    inLoop,
    (p) => {
      let pos = t.paramPos[p];
      for (let parts = p.split('.'); !pos && parts.length > 1; parts = parts.slice(0, -1)) pos = t.paramPos[parts.slice(0, -1).join('.')];
      return { pos: pos ?? t.pos, owner, field: p };
    },
    guards,
  );
  const at = (field: string): Where => ({ pos: t.keyPos[field] ?? t.pos, owner, field });
  c.expression(t.changedWhen, inLoop, at('changed_when'), guards);
  c.expression(t.failedWhen, inLoop, at('failed_when'), guards);
  c.expression(t.until?.filter((u) => u !== true), inLoop, at('until'), guards);
  const cc = t.concurrency;
  if (cc) {
    // limits are rendered per loop item, throttle and loop_control.parallel once per host
    for (const l of cc.limits) c.deep({ key: l.key, max: l.max }, '', inLoop, (p) => ({ pos: l.pos, owner, field: `limits.${p}` }), guards);
    c.deep({ throttle: cc.throttle, parallel: cc.loopParallel }, '', known, (p) => ({ pos: t.keyPos[p === 'throttle' ? 'throttle' : 'loop_control'] ?? t.pos, owner, field: p }), guards);
    c.expression(cc.breakWhen, inLoop, at('loop_control'), guards);
  }
  if (c.dir !== undefined) checkSrcFile(c, t, c.dir, inLoop, guards, owner);
}

/** A template's file is rendered with the task's variables: checked like its parameters. */
function checkSrcFile(c: VarCheck, t: Task, dir: string, known: Set<string>, guards: Set<string>, owner: string): void {
  const file = localSrcFile(t, dir);
  if (!file) return;
  const pos = t.paramPos.src ?? t.pos;
  if ('problem' in file) c.problems.push({ pos, field: 'src', message: `${file.problem} ${owner}` });
  else if (file.text !== undefined) c.templateFile(file.path, file.text, known, `(used by task '${t.name ?? t.module}' at ${formatPos(pos)})`, guards);
}

function checkNodes(c: VarCheck, nodes: TaskNode[], known: Set<string>, guards: Set<string>): void {
  for (const n of nodes) {
    if (n.kind === 'task') checkTask(c, n, known, guards);
    else if (n.kind === 'flush_handlers') checkCommon(c, n, known, `in 'meta: flush_handlers'`);
    else checkBlock(c, n, known, guards);
  }
}

function checkBlock(c: VarCheck, b: Block, outer: Set<string>, outerGuards: Set<string>): void {
  const known = with_(outer, Object.keys(b.vars));
  checkCommon(c, { ...b, vars: {} }, known, `in block${b.name ? ` '${b.name}'` : ''}`);
  c.deep(b.vars, '', known, (p) => ({ pos: b.keyPos.vars ?? b.pos, owner: 'in block', field: `vars.${p}` }));
  // The block's `when` holds for every task in it, rescue and always included.
  const guards = definedGuards(b.when, outerGuards);
  for (const list of [b.block, b.rescue, b.always]) checkNodes(c, list, known, guards);
}

export interface PlayCheckContext {
  /**
   * Names earlier plays register or set_fact: host state outlives its play. Per host they exist
   * only where the earlier play ran; that is accepted rather than tracked.
   */
  earlier?: Iterable<string>;
  /** The playbook's directory: template and copy src files are found from it; undefined skips them. */
  dir?: string;
}

/**
 * Checks the templates and expressions of a play. `hostSets` are the play's hosts grouped by the
 * variable names the inventory (and -e) defines for them: a name must be defined for every host
 * a task may run on. Undefined skips the undefined-name check; syntax is checked regardless.
 */
export function checkPlayVariables(play: Play, hostSets: HostVarSet[] | undefined, problems: Problem[], ctx: PlayCheckContext = {}): void {
  const base = hostSets
    ? new Set([...MAGIC_VARIABLES, ...Object.keys(play.vars), ...runtimeNames(play), ...(ctx.earlier ?? []), ...(play.gatherFacts ? FACT_VARIABLES : [])])
    : undefined;
  const c = new VarCheck(problems, base, hostSets ?? [], ctx.dir);
  const known = base ?? new Set<string>();
  const none = new Set<string>();
  c.deep(play.vars, '', known, (p) => ({ pos: play.keyPos.vars ?? play.pos, owner: `in play '${play.name}'`, field: `vars.${p}` }));
  for (const [field, text] of [['become_user', play.becomeUser], ['become', play.become]] as const) {
    if (typeof text === 'string') c.template(text, known, { pos: play.keyPos[field] ?? play.pos, owner: `in play '${play.name}'`, field });
  }
  checkNodes(c, play.tasks, known, none);
  for (const h of play.handlers) checkTask(c, h, known, none);
}
