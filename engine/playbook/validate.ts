// The variable check of a loaded play: every template and expression is parsed (syntax errors
// always reported) and, when the caller knows the inventory's variables, every root name used
// must be defined somewhere: inventory, play vars/vars_files, -e, block/task vars, register,
// set_fact, the loop variable, facts (gather_facts) or the engine's magic variables.
import type { Problem, SourcePos } from '../errors.js';
import { closest } from '../schema.js';
import { templateVariables, TemplateError } from '../template.js';
import { expressionVariables } from '../expr.js';
import { getModule } from '../../modules/index.js';
import type { Block, Play, Task, TaskCommon, TaskNode } from './types.js';

/** Variables the engine provides on every host (see runner/play.ts and the inventory). */
export const MAGIC_VARIABLES = [
  'inventory_hostname', 'inventory_hostname_short', 'inventory_file', 'inventory_dir', 'group_names', 'groups', 'hostvars',
  'play_hosts', 'ansible_play_hosts', 'ansible_play_hosts_all', 'ansible_play_batch', 'ansible_check_mode', 'playbook_dir',
];
const FACT_VARIABLES = ['facts', 'ansible_facts'];
const LOOP_VARIABLES = ['ansible_loop', 'ansible_loop_var'];

interface Where {
  pos: SourcePos;
  /** `in task 'X'` or `in play 'Y'`. */
  owner: string;
  field: string;
}

class VarCheck {
  private readonly seen = new Set<string>();
  constructor(
    private readonly problems: Problem[],
    private readonly base: Set<string> | undefined,
  ) {}

  private report(names: string[], known: Set<string>, w: Where): void {
    if (!this.base) return;
    for (const n of names) {
      if (known.has(n)) continue;
      const key = `${w.pos.file}:${w.pos.line}:${w.pos.col}:${n}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const hint = closest(n, [...known]);
      this.problems.push({ pos: w.pos, field: w.field, message: `undefined variable '${n}'${hint ? ` (did you mean '${hint}'?)` : ''} ${w.owner} (field ${w.field})` });
    }
  }

  template(text: string, known: Set<string>, w: Where): void {
    if (!text.includes('{{')) return;
    try {
      this.report(templateVariables(text), known, w);
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      this.problems.push({ pos: w.pos, field: w.field, message: `${e.message} ${w.owner} (field ${w.field})` });
    }
  }

  /** Syntax problems of expressions were reported while reading; only names matter here. */
  expression(conds: Array<string | boolean> | undefined, known: Set<string>, w: Where): void {
    for (const c of conds ?? []) {
      if (typeof c !== 'string') continue;
      let names: string[];
      try {
        names = expressionVariables(c);
      } catch {
        continue;
      }
      this.report(names, known, w);
    }
  }

  deep(value: unknown, path: string, known: Set<string>, w: (path: string) => Where): void {
    if (typeof value === 'string') this.template(value, known, w(path));
    else if (Array.isArray(value)) value.forEach((v, i) => this.deep(v, path ? `${path}.${i}` : String(i), known, w));
    else if (value !== null && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) {
        const p = path ? `${path}.${k}` : k;
        this.template(k, known, w(p));
        this.deep(v, p, known, w);
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

/** Names that exist at run time because some task of the play sets them. */
function runtimeNames(play: Play): string[] {
  const out: string[] = [];
  for (const t of [...allTasks(play.tasks), ...play.handlers]) {
    if (t.register) out.push(t.register);
    if (getModule(t.module)?.freeKeys) out.push(...Object.keys(t.params));
  }
  return out;
}

const with_ = (known: Set<string>, names: Iterable<string>): Set<string> => new Set([...known, ...names]);

function checkCommon(c: VarCheck, node: TaskCommon, known: Set<string>, owner: string): void {
  const at = (field: string): Where => ({ pos: node.keyPos[field] ?? node.pos, owner, field });
  if (node.name) c.template(node.name, known, at('name'));
  c.expression(node.when, known, at('when'));
  if (node.delegateTo) c.template(node.delegateTo, known, at('delegate_to'));
  if (typeof node.ignoreErrors === 'string') c.expression([node.ignoreErrors], known, at('ignore_errors'));
  c.deep(node.vars, '', known, (p) => ({ pos: node.keyPos.vars ?? node.pos, owner, field: `vars.${p}` }));
}

function checkTask(c: VarCheck, t: Task, outer: Set<string>): void {
  const owner = `in task '${t.name ?? t.module}'`;
  const known = with_(outer, Object.keys(t.vars));
  const inLoop = t.loop !== undefined ? with_(known, [t.loopVar, ...LOOP_VARIABLES]) : known;
  checkCommon(c, { ...t, vars: {} }, inLoop, owner);
  c.deep(t.vars, '', known, (p) => ({ pos: t.keyPos.vars ?? t.pos, owner, field: `vars.${p}` }));
  const loopKey = t.keyPos.loop ? 'loop' : 'with_items';
  c.deep(t.loop, '', known, () => ({ pos: t.keyPos[loopKey] ?? t.pos, owner, field: loopKey }));
  c.deep(t.params, '', inLoop, (p) => {
    let pos = t.paramPos[p];
    for (let parts = p.split('.'); !pos && parts.length > 1; parts = parts.slice(0, -1)) pos = t.paramPos[parts.slice(0, -1).join('.')];
    return { pos: pos ?? t.pos, owner, field: p };
  });
  const at = (field: string): Where => ({ pos: t.keyPos[field] ?? t.pos, owner, field });
  c.expression(t.changedWhen, inLoop, at('changed_when'));
  c.expression(t.failedWhen, inLoop, at('failed_when'));
  c.expression(t.until?.filter((u) => u !== true), inLoop, at('until'));
}

function checkNodes(c: VarCheck, nodes: TaskNode[], known: Set<string>): void {
  for (const n of nodes) {
    if (n.kind === 'task') checkTask(c, n, known);
    else if (n.kind === 'flush_handlers') checkCommon(c, n, known, `in 'meta: flush_handlers'`);
    else checkBlock(c, n, known);
  }
}

function checkBlock(c: VarCheck, b: Block, outer: Set<string>): void {
  const known = with_(outer, Object.keys(b.vars));
  checkCommon(c, { ...b, vars: {} }, known, `in block${b.name ? ` '${b.name}'` : ''}`);
  c.deep(b.vars, '', known, (p) => ({ pos: b.keyPos.vars ?? b.pos, owner: 'in block', field: `vars.${p}` }));
  for (const list of [b.block, b.rescue, b.always]) checkNodes(c, list, known);
}

/**
 * Checks the templates and expressions of a play. `inventoryNames` are the variables the
 * inventory (and -e) defines for the play's hosts; undefined skips the undefined-name check.
 */
export function checkPlayVariables(play: Play, inventoryNames: Set<string> | undefined, problems: Problem[]): void {
  const base = inventoryNames
    ? new Set([...inventoryNames, ...MAGIC_VARIABLES, ...Object.keys(play.vars), ...runtimeNames(play), ...(play.gatherFacts ? FACT_VARIABLES : [])])
    : undefined;
  const c = new VarCheck(problems, base);
  const known = base ?? new Set<string>();
  c.deep(play.vars, '', known, (p) => ({ pos: play.keyPos.vars ?? play.pos, owner: `in play '${play.name}'`, field: `vars.${p}` }));
  checkNodes(c, play.tasks, known);
  for (const h of play.handlers) checkTask(c, h, known);
}
