// Templated parameters whose value is already known at validation: `interface: "{{ iface }}"`
// with `iface` in the play's, block's or task's vars, -e, or the inventory of every host the play
// selects (and nowhere set at run time) is rendered now and checked like a literal, so a list where
// a string belongs, or a bad name, is reported by `play validate` instead of failing mid-run.
import type { Problem, SourcePos } from '../errors.js';
import { userNameProblem } from '../module/name-rules.js';
import { boolWord, hasTemplate, isTemplated, validateParams, type SchemaProblem } from '../module/schema.js';
import { TemplateError, renderDeep, templateVariables } from '../lang/template.js';
import { getModule } from '../../modules/index.js';
import { ANSIBLE_FACT_VARIABLES } from '../facts/aliases.js';
import type { Block, Play, Playbook, Task, TaskNode } from './types.js';
import { MAGIC_VARIABLES, runtimeNames, someHosts } from './validate.js';

/** A name some layer defines with a templated (or run-time) value: unknown, and it hides the layers below. */
const HIDDEN = Symbol('hidden');
type Scope = Record<string, unknown>;
/** Distinct inventory values rendered per parameter at most; the rest is left to the run. */
const MAX_GROUPS = 20;
const FACT_NAMES = new Set(['facts', 'ansible_facts', ...ANSIBLE_FACT_VARIABLES]);
/** The engine's own per-host names (groups, hostvars…): big, and not the inventory's values to check. */
const MAGIC = new Set(MAGIC_VARIABLES);

/** `scope` with a layer of variables on top: a plain value is known; a templated one, or one in `unknown`, is hidden. */
function layer(scope: Scope, vars: Record<string, unknown>, unknown = new Set<string>()): Scope {
  const out: Scope = { ...scope };
  for (const [k, v] of Object.entries(vars)) out[k] = unknown.has(k) || hasTemplate(v) ? HIDDEN : v;
  return out;
}

/** Every root name the templates in a value use; undefined on a syntax error (reported elsewhere). */
function namesUsed(v: unknown): Set<string> | undefined {
  const into = new Set<string>();
  const walk = (x: unknown): void => {
    if (typeof x === 'string') {
      if (isTemplated(x)) for (const n of templateVariables(x)) into.add(n);
    } else if (Array.isArray(x)) x.forEach(walk);
    else if (x !== null && typeof x === 'object') for (const [k, y] of Object.entries(x)) (walk(k), walk(y));
  };
  try {
    walk(v);
  } catch {
    return undefined;
  }
  return into;
}

function render(value: unknown, scope: Scope): unknown {
  const plain = Object.fromEntries(Object.entries(scope).filter(([, v]) => v !== HIDDEN));
  try {
    return renderDeep(value, plain, { file: '' });
  } catch (e) {
    if (e instanceof TemplateError) return undefined; // the run-time render reports it with the host
    throw e;
  }
}

interface Rendered {
  value: unknown;
  /** Hosts whose inventory gave the value; undefined when the playbook and -e alone fix it. */
  hosts?: string[];
}

/** The play's hosts and their inventory variables (the layer below play vars). */
export interface PlayHosts {
  hosts(play: Play): string[];
  vars(host: string): Record<string, unknown>;
}

class StaticCheck {
  readonly problems: Problem[] = [];
  private hosts: string[] = [];
  /** Gathered facts sit above the inventory: names they set are not the inventory's to give. */
  private facts = false;

  constructor(
    private readonly extra: Record<string, unknown>,
    private readonly runtime: Set<string>,
    private readonly inventory?: PlayHosts,
  ) {}

  play(play: Play): void {
    this.hosts = this.inventory?.hosts(play) ?? [];
    this.facts = play.gatherFacts;
    const scope = layer({}, play.vars, this.runtime);
    this.become(play, layer(scope, this.extra));
    this.walk(play.tasks, scope);
    for (const h of play.handlers) this.task(h, scope);
  }

  /** Each value a template takes: one when the playbook fixes it, one per distinct inventory value otherwise. */
  private values(raw: unknown, scope: Scope): Rendered[] {
    const names = namesUsed(raw);
    if (!names || names.size === 0) return [];
    const missing = [...names].filter((n) => !(n in scope));
    if ([...names].some((n) => scope[n] === HIDDEN)) return [];
    if (missing.length === 0) {
      const value = render(raw, scope);
      return value === undefined ? [] : [{ value }];
    }
    if (!this.inventory || missing.some((n) => MAGIC.has(n) || this.runtime.has(n) || (this.facts && FACT_NAMES.has(n)))) return [];
    const groups = new Map<string, { values: Scope; hosts: string[] }>();
    for (const h of this.hosts) {
      const vars = this.inventory.vars(h);
      // A host lacking a name is the undefined-variable check's to report; a templated value is the run's.
      if (missing.some((n) => vars[n] === undefined || hasTemplate(vars[n]))) continue;
      const values = Object.fromEntries(missing.map((n) => [n, vars[n]]));
      const key = JSON.stringify(values);
      const g = groups.get(key);
      if (g) g.hosts.push(h);
      else if (groups.size < MAX_GROUPS) groups.set(key, { values, hosts: [h] });
    }
    const out: Rendered[] = [];
    for (const g of groups.values()) {
      const value = render(raw, { ...g.values, ...scope });
      if (value !== undefined) out.push({ value, hosts: g.hosts });
    }
    return out;
  }

  private source(raw: unknown, r: Rendered): string {
    const where = r.hosts ? `on ${r.hosts.length} of ${this.hosts.length} hosts (${someHosts(r.hosts)}), from the inventory` : 'known from the variables';
    return `(the value of ${JSON.stringify(raw)}, ${where})`;
  }

  /** become and become_user of a play, block or task, when the variables fix them. */
  private become(node: { become?: boolean | string; becomeUser?: string; keyPos: Record<string, SourcePos>; pos: SourcePos }, scope: Scope): void {
    const at = (field: string) => node.keyPos[field] ?? node.pos;
    if (typeof node.becomeUser === 'string' && isTemplated(node.becomeUser)) {
      for (const r of this.values(node.becomeUser, scope)) {
        const problem = typeof r.value === 'string' || typeof r.value === 'number' ? userNameProblem(String(r.value)) : `expected a user name, got ${JSON.stringify(r.value)}`;
        if (problem) this.problems.push({ pos: at('become_user'), field: 'become_user', message: `become_user: ${problem} ${this.source(node.becomeUser, r)}` });
      }
    }
    if (typeof node.become === 'string') {
      for (const r of this.values(node.become, scope)) {
        if (boolWord(r.value) !== undefined) continue;
        this.problems.push({ pos: at('become'), field: 'become', message: `become: expected a boolean, got ${JSON.stringify(r.value)} ${this.source(node.become, r)}` });
      }
    }
  }

  private task(t: Task, scope: Scope): void {
    // The loop variable hides any other value of that name (an inventory `item` too).
    const loopNames = t.loop === undefined ? [] : [t.loopVar, 'ansible_loop'];
    const here = layer(layer(layer(scope, t.vars), Object.fromEntries(loopNames.map((n) => [n, null])), new Set(loopNames)), this.extra);
    this.become(t, here);
    const mod = getModule(t.module);
    if (!mod || mod.freeKeys) return;
    for (const [key, raw] of Object.entries(t.params)) {
      const spec = mod.params[key] ?? Object.values(mod.params).find((s) => s.aliases?.includes(key));
      if (!spec || spec.secret || !hasTemplate(raw)) continue;
      for (const r of this.values(raw, here)) {
        const found: SchemaProblem[] = [];
        validateParams({ [key]: { ...spec, required: false } }, { [key]: r.value }, found);
        for (const p of found) {
          const path = p.path.join('.');
          const pos = t.paramPos[path] ?? t.paramPos[key] ?? t.pos;
          this.problems.push({ pos, field: path, message: `${t.module}.${path}: ${p.message} ${this.source(raw, r)}` });
        }
      }
    }
  }

  private walk(nodes: TaskNode[], scope: Scope): void {
    for (const n of nodes) {
      if (n.kind === 'task') this.task(n, scope);
      else if (n.kind === 'block') {
        const inner = layer(scope, (n as Block).vars);
        this.become(n, layer(inner, this.extra));
        for (const list of [n.block, n.rescue, n.always]) this.walk(list, inner);
      }
    }
  }
}

/**
 * Problems of templated parameters whose values the playbook, -e or the inventory already fix.
 * Precedence as at run time: inventory < play vars < set_fact/register < block/task vars < -e.
 */
export function staticValueProblems(playbook: Playbook, extraVars: Record<string, unknown>, inventory?: PlayHosts): Problem[] {
  // set_fact and register anywhere may override play vars on some host: those names are left alone.
  const runtime = new Set(playbook.plays.flatMap((p: Play) => runtimeNames(p)));
  const check = new StaticCheck(extraVars, runtime, inventory);
  for (const play of playbook.plays) check.play(play);
  return check.problems;
}
