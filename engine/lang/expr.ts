// The `when:` / `changed_when` / `failed_when` / `until` language: Ansible/Jinja-like, parsed by
// hand and evaluated without eval. `{{ }}` inside an expression is rendered first (Ansible does).
import { PlayError, formatPos } from '../errors.js';
import { parseExpression, ExprSyntaxError, type ExprNode } from './expr-parse.js';
import { evalNode, need, EvalFailure, checkNames, TEST_NAMES, FILTER_NAMES } from './expr-eval.js';
import { renderString, templateVariables, TemplateError, type TemplateOrigin } from './template.js';
import { truthy } from './expr-values.js';

export { parseExpression, ExprSyntaxError, type ExprNode, TEST_NAMES, FILTER_NAMES };

/** An expression that cannot be evaluated: syntax, undefined variable, type mismatch. */
export class ExprError extends PlayError {
  constructor(
    message: string,
    /** The undefined variable, when that is the problem. */
    readonly variable?: string,
  ) {
    super(message);
  }
}

function located(where: TemplateOrigin, expr: string, message: string): string {
  const pos = formatPos(where);
  const task = where.task ? ` in task '${where.task}'` : '';
  return `${pos ? `${pos}: ` : ''}${message}${task} (${where.field ?? 'expression'}: ${expr})`;
}

/** Evaluates one expression to its value (Python semantics). Booleans pass through. */
export function evaluate(expr: string | boolean, vars: Record<string, unknown>, where: TemplateOrigin): unknown {
  if (typeof expr === 'boolean') return expr;
  let text = expr;
  if (text.includes('{{')) {
    const r = renderString(text, vars, where);
    if (typeof r !== 'string') return r;
    text = r;
  }
  let node: ExprNode;
  try {
    node = parseExpression(text);
  } catch (e) {
    if (e instanceof ExprSyntaxError) throw new ExprError(located(where, expr, `${e.reason} at column ${e.column}`));
    throw e;
  }
  try {
    return need(evalNode(node, vars));
  } catch (e) {
    if (e instanceof EvalFailure) throw new ExprError(located(where, expr, e.message), e.variable);
    if (e instanceof TemplateError) throw e;
    throw e;
  }
}

/** All conditions must hold (Ansible's list form of `when:`); truthiness is Python's. */
export function evaluateCondition(conds: Array<string | boolean>, vars: Record<string, unknown>, where: TemplateOrigin): boolean {
  for (const c of conds) if (!truthy(evaluate(c, vars, where))) return false;
  return true;
}

const TEMPLATE = /\{\{[\s\S]*?\}\}/g;
const PLACEHOLDER = '__play_template__';

function rootOf(n: ExprNode): string | undefined {
  if (n.type === 'name') return n.name;
  if (n.type === 'member') return rootOf(n.object);
  return undefined;
}

/** Roots tested with `is defined` / `is undefined` anywhere inside n. */
function definedTested(n: ExprNode, out: Set<string>): Set<string> {
  walk(n, (x) => {
    if (x.type === 'test' && (x.name === 'defined' || x.name === 'undefined')) {
      const r = rootOf(x.operand);
      if (r) out.add(r);
    }
  });
  return out;
}

function children(n: ExprNode): ExprNode[] {
  switch (n.type) {
    case 'list':
      return n.items;
    case 'dict':
      return n.entries.flat();
    case 'member':
      return typeof n.key === 'string' ? [n.object] : [n.object, n.key];
    case 'not':
    case 'neg':
      return [n.operand];
    case 'and':
    case 'or':
    case 'binop':
      return [n.left, n.right];
    case 'compare':
      return [n.first, ...n.rest.map((r) => r.right)];
    case 'test':
    case 'filter':
      return [n.operand, ...n.args];
    case 'cond':
      return n.else ? [n.test, n.then, n.else] : [n.test, n.then];
    default:
      return [];
  }
}

function walk(n: ExprNode, f: (n: ExprNode) => void): void {
  f(n);
  for (const c of children(n)) walk(c, f);
}

function collect(n: ExprNode, guarded: Set<string>, out: Set<string>): void {
  switch (n.type) {
    case 'name':
      if (!guarded.has(n.name)) out.add(n.name);
      return;
    case 'test':
    case 'filter': {
      const lenient = n.type === 'test' ? n.name === 'defined' || n.name === 'undefined' : ['default', 'd', 'mandatory'].includes(n.name);
      const r = rootOf(n.operand);
      collect(n.operand, lenient && r ? new Set([...guarded, r]) : guarded, out);
      for (const a of n.args) collect(a, guarded, out);
      return;
    }
    case 'and':
    case 'or':
      collect(n.left, guarded, out);
      collect(n.right, definedTested(n.left, new Set(guarded)), out);
      return;
    case 'cond': {
      collect(n.test, guarded, out);
      const g = definedTested(n.test, new Set(guarded));
      collect(n.then, g, out);
      if (n.else) collect(n.else, g, out);
      return;
    }
    default:
      for (const c of children(n)) collect(c, guarded, out);
  }
}

/**
 * The root variable names an expression needs defined (names guarded by `is defined` or
 * `| default` are left out). Throws ExprSyntaxError / TemplateError when it is malformed.
 */
export function expressionVariables(expr: string): string[] {
  const out = new Set<string>();
  let text = expr;
  if (text.includes('{{')) {
    for (const v of templateVariables(text)) out.add(v);
    text = text.replace(TEMPLATE, PLACEHOLDER);
  }
  collect(parseExpression(text), new Set(), out);
  out.delete(PLACEHOLDER);
  return [...out];
}

/**
 * Every static problem of an expression (syntax with its column, unknown filters or tests);
 * empty when it is fine. Templated expressions are checked after the placeholder swap.
 */
export function checkExpression(expr: string): string[] {
  const text = expr.includes('{{') ? expr.replace(TEMPLATE, PLACEHOLDER) : expr;
  try {
    if (expr.includes('{{')) templateVariables(expr);
    const problems: string[] = [];
    checkNames(parseExpression(text), problems);
    return problems;
  } catch (e) {
    if (e instanceof ExprSyntaxError) return [`${e.reason} at column ${e.column}`];
    if (e instanceof TemplateError) return [e.message];
    throw e;
  }
}
