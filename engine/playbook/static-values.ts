// Templated parameters whose value is already known at validation: `interface: "{{ iface }}"`
// with `iface` in the play's, block's or task's vars (or -e) and nowhere set at run time is
// rendered now and checked like a literal, so a list where a string belongs, or a bad name, is
// reported by `play validate` instead of failing mid-run.
import type { Problem, SourcePos } from '../errors.js';
import { userNameProblem } from '../name-rules.js';
import { boolWord, isTemplated, validateParams, type SchemaProblem } from '../schema.js';
import { TemplateError, renderDeep, templateVariables } from '../template.js';
import { getModule } from '../../modules/index.js';
import type { Block, Play, Playbook, Task, TaskNode } from './types.js';
import { runtimeNames } from './validate.js';

type Scope = Record<string, unknown>;

/**
 * `scope` with a layer of variables on top: a plain value (no template inside) is known; a
 * templated one, or one in `unknown` (set at run time), hides what lay below it.
 */
function layer(scope: Scope, vars: Record<string, unknown>, unknown = new Set<string>()): Scope {
  const out: Scope = { ...scope };
  for (const [k, v] of Object.entries(vars)) {
    if (unknown.has(k) || hasTemplate(v)) delete out[k];
    else out[k] = v;
  }
  return out;
}

function hasTemplate(v: unknown): boolean {
  if (isTemplated(v)) return true;
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => isTemplated(k) || hasTemplate(x));
  return false;
}

/** Every root name the templates in a value use. */
function namesUsed(v: unknown, into: Set<string>): void {
  if (typeof v === 'string') {
    if (isTemplated(v)) for (const n of templateVariables(v)) into.add(n);
  } else if (Array.isArray(v)) v.forEach((x) => namesUsed(x, into));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) (namesUsed(k, into), namesUsed(x, into));
}

/** One parameter rendered, when every name it uses is known; undefined otherwise. */
function renderKnown(value: unknown, scope: Scope): unknown {
  const names = new Set<string>();
  try {
    namesUsed(value, names);
  } catch {
    return undefined; // a syntax error is reported by the variable check
  }
  if (names.size === 0 || ![...names].every((n) => Object.prototype.hasOwnProperty.call(scope, n))) return undefined;
  try {
    return renderDeep(value, scope, { file: '' });
  } catch (e) {
    if (e instanceof TemplateError) return undefined; // the run-time render reports it with the host
    throw e;
  }
}

/** become and become_user of a play, block or task, when the variables fix them. */
function checkBecome(node: { become?: boolean | string; becomeUser?: string; keyPos: Record<string, SourcePos>; pos: SourcePos }, scope: Scope, problems: Problem[]): void {
  const at = (field: string) => node.keyPos[field] ?? node.pos;
  if (typeof node.becomeUser === 'string' && isTemplated(node.becomeUser)) {
    const user = renderKnown(node.becomeUser, scope);
    const problem = user === undefined ? undefined : typeof user === 'string' || typeof user === 'number' ? userNameProblem(String(user)) : `expected a user name, got ${JSON.stringify(user)}`;
    if (problem) problems.push({ pos: at('become_user'), field: 'become_user', message: `become_user: ${problem} (the value of ${JSON.stringify(node.becomeUser)}, known from the variables)` });
  }
  if (typeof node.become === 'string') {
    const v = renderKnown(node.become, scope);
    if (v !== undefined && boolWord(v) === undefined) {
      problems.push({ pos: at('become'), field: 'become', message: `become: expected a boolean, got ${JSON.stringify(v)} (the value of ${JSON.stringify(node.become)}, known from the variables)` });
    }
  }
}

function checkTask(t: Task, scope: Scope, extra: Scope, problems: Problem[]): void {
  const here = layer(layer(scope, t.vars), extra);
  checkBecome(t, here, problems);
  const mod = getModule(t.module);
  if (!mod || mod.freeKeys) return;
  for (const [key, raw] of Object.entries(t.params)) {
    const spec = mod.params[key] ?? Object.values(mod.params).find((s) => s.aliases?.includes(key));
    if (!spec || spec.secret || !hasTemplate(raw)) continue;
    const value = renderKnown(raw, here);
    if (value === undefined) continue;
    const found: SchemaProblem[] = [];
    validateParams({ [key]: { ...spec, required: false } }, { [key]: value }, found);
    for (const p of found) {
      const path = p.path.join('.');
      const pos = t.paramPos[path] ?? t.paramPos[key] ?? t.pos;
      problems.push({ pos, field: path, message: `${t.module}.${path}: ${p.message} (the value of ${JSON.stringify(raw)}, known from the variables)` });
    }
  }
}

function walk(nodes: TaskNode[], scope: Scope, extra: Scope, problems: Problem[]): void {
  for (const n of nodes) {
    if (n.kind === 'task') checkTask(n, scope, extra, problems);
    else if (n.kind === 'block') {
      const inner = layer(scope, (n as Block).vars);
      checkBecome(n, layer(inner, extra), problems);
      for (const list of [n.block, n.rescue, n.always]) walk(list, inner, extra, problems);
    }
  }
}

/** Problems of templated parameters whose values the playbook and -e already fix. */
export function staticValueProblems(playbook: Playbook, extraVars: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [];
  // set_fact and register anywhere may override play vars on some host: those names are left alone.
  const runtime = new Set(playbook.plays.flatMap((p: Play) => runtimeNames(p)));
  // Precedence as at run time: play vars < set_fact/register < block/task vars < -e.
  for (const play of playbook.plays) {
    const scope = layer({}, play.vars, runtime);
    checkBecome(play, layer(scope, extraVars), problems);
    walk(play.tasks, scope, extraVars, problems);
    for (const h of play.handlers) checkTask(h, scope, extraVars, problems);
  }
  return problems;
}
