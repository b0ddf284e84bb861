// Evaluates parsed `when:` expressions with Python semantics. An undefined variable is a value
// (Undef) until something needs it: `is defined` and `| default` accept it, everything else fails.
import type { ExprNode, CompareOp } from './expr-parse.js';
import { getMember, pyCompare, pyContains, pyEquals, pyLen, pyStr, pyType, toBool, toFloat, toInt, truthy } from './expr-values.js';

export class Undef {
  constructor(
    readonly name: string,
    readonly why?: string,
  ) {}
}

/** A run-time problem inside an expression; the caller adds the position. */
export class EvalFailure extends Error {
  constructor(message: string, readonly variable?: string) {
    super(message);
  }
}

export function need(v: unknown): unknown {
  if (v instanceof Undef) throw new EvalFailure(`undefined variable '${v.name}'${v.why ? ` (${v.why})` : ''}`, v.name);
  return v;
}

function fail(message: string): never {
  throw new EvalFailure(message);
}

function typed<T>(what: string, ok: (v: unknown) => v is T, v: unknown): T {
  if (!ok(v)) throw new EvalFailure(`${what}, got ${pyType(v)} ${JSON.stringify(v)}`);
  return v;
}
const isNum = (v: unknown): v is number => typeof v === 'number' || typeof v === 'boolean';
const isStr = (v: unknown): v is string => typeof v === 'string';
const isList = (v: unknown): v is unknown[] => Array.isArray(v);
const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function registered(test: string, v: unknown): Record<string, unknown> {
  return typed(`'${test}' needs a registered task result`, isDict, v);
}

function regex(pattern: unknown): RegExp {
  try {
    return new RegExp(typed('a regular expression must be a string', isStr, pattern));
  } catch (e) {
    throw new EvalFailure(`bad regular expression ${JSON.stringify(pattern)}: ${(e as Error).message}`);
  }
}

/** `x is NAME(args)`; defined/undefined see Undef, the others get a defined value. */
const TESTS: Record<string, (v: unknown, args: unknown[]) => boolean> = {
  defined: (v) => !(v instanceof Undef),
  undefined: (v) => v instanceof Undef,
  none: (v) => need(v) === null,
  truthy: (v) => truthy(need(v)),
  falsy: (v) => !truthy(need(v)),
  true: (v) => need(v) === true,
  false: (v) => need(v) === false,
  changed: (v) => truthy(registered('changed', v).changed),
  failed: (v) => truthy(registered('failed', v).failed),
  failure: (v) => truthy(registered('failure', v).failed),
  skipped: (v) => truthy(registered('skipped', v).skipped),
  succeeded: (v) => !truthy(registered('succeeded', v).failed),
  success: (v) => !truthy(registered('success', v).failed),
  successful: (v) => !truthy(registered('successful', v).failed),
  string: (v) => typeof v === 'string',
  number: (v) => typeof v === 'number',
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  float: (v) => typeof v === 'number' && !Number.isInteger(v),
  boolean: (v) => typeof v === 'boolean',
  mapping: (v) => isDict(v),
  sequence: (v) => isList(v) || isStr(v),
  iterable: (v) => isList(v) || isStr(v) || isDict(v),
  even: (v) => toInt(typed('even needs a number', isNum, v)) % 2 === 0,
  odd: (v) => Math.abs(toInt(typed('odd needs a number', isNum, v)) % 2) === 1,
  divisibleby: (v, [n]) => Number(typed('divisibleby needs a number', isNum, v)) % Number(typed('divisibleby needs a number', isNum, n)) === 0,
  eq: (v, [o]) => pyEquals(v, o),
  equalto: (v, [o]) => pyEquals(v, o),
  ne: (v, [o]) => !pyEquals(v, o),
  lt: (v, [o]) => cmp(v, o) < 0,
  le: (v, [o]) => cmp(v, o) <= 0,
  gt: (v, [o]) => cmp(v, o) > 0,
  ge: (v, [o]) => cmp(v, o) >= 0,
  in: (v, [o]) => contains(o, v),
  contains: (v, [o]) => contains(v, o),
  match: (v, [p]) => regex(`^(?:${String(p)})`).test(typed('match needs a string', isStr, v)),
  search: (v, [p]) => regex(p).test(typed('search needs a string', isStr, v)),
  regex: (v, [p]) => regex(p).test(typed('regex needs a string', isStr, v)),
};
const TEST_ARGS: Record<string, number> = { divisibleby: 1, eq: 1, equalto: 1, ne: 1, lt: 1, le: 1, gt: 1, ge: 1, in: 1, contains: 1, match: 1, search: 1, regex: 1 };

function num(v: unknown, what: string): number {
  return Number(typed(`${what} needs a number`, isNum, v));
}

/** `x | NAME(args)`; default/d/mandatory see Undef, the others get a defined value. */
const FILTERS: Record<string, { min: number; max: number; fn: (v: unknown, args: unknown[]) => unknown }> = {
  default: { min: 0, max: 2, fn: (v, [d, boolean]) => (v instanceof Undef || (truthy(boolean) && !truthy(v)) ? (d === undefined ? '' : d) : v) },
  mandatory: { min: 0, max: 1, fn: (v, [msg]) => (v instanceof Undef ? need(msg === undefined ? v : new Undef(v.name, String(msg))) : v) },
  bool: { min: 0, max: 0, fn: (v) => toBool(v) },
  int: { min: 0, max: 1, fn: (v, [d]) => toInt(v, d === undefined ? 0 : toInt(d)) },
  float: { min: 0, max: 1, fn: (v, [d]) => toFloat(v, d === undefined ? 0 : toFloat(d)) },
  string: { min: 0, max: 0, fn: (v) => pyStr(v) },
  length: { min: 0, max: 0, fn: (v) => len(v) },
  count: { min: 0, max: 0, fn: (v) => len(v) },
  lower: { min: 0, max: 0, fn: (v) => pyStr(v).toLowerCase() },
  upper: { min: 0, max: 0, fn: (v) => pyStr(v).toUpperCase() },
  trim: { min: 0, max: 0, fn: (v) => pyStr(v).trim() },
  first: { min: 0, max: 0, fn: (v) => (isList(v) || isStr(v) ? v[0] ?? null : fail(`first needs a list or string, got ${pyType(v)}`)) },
  last: { min: 0, max: 0, fn: (v) => (isList(v) || isStr(v) ? v[v.length - 1] ?? null : fail(`last needs a list or string, got ${pyType(v)}`)) },
  join: { min: 0, max: 1, fn: (v, [sep]) => typed('join needs a list', isList, v).map(pyStr).join(sep === undefined ? '' : pyStr(sep)) },
  list: { min: 0, max: 0, fn: (v) => (isList(v) ? v : isStr(v) ? [...v] : isDict(v) ? Object.keys(v) : fail(`${pyType(v)} is not iterable`)) },
  abs: { min: 0, max: 0, fn: (v) => Math.abs(num(v, 'abs')) },
  round: { min: 0, max: 1, fn: (v, [p]) => Number(num(v, 'round').toFixed(p === undefined ? 0 : toInt(p))) },
  min: { min: 0, max: 0, fn: (v) => typed('min needs a non-empty list', (x): x is unknown[] => isList(x) && x.length > 0, v).reduce((a, b) => (cmp(b, a) < 0 ? b : a)) },
  max: { min: 0, max: 0, fn: (v) => typed('max needs a non-empty list', (x): x is unknown[] => isList(x) && x.length > 0, v).reduce((a, b) => (cmp(b, a) > 0 ? b : a)) },
  sort: { min: 0, max: 0, fn: (v) => [...typed('sort needs a list', isList, v)].sort(cmp) },
  unique: { min: 0, max: 0, fn: (v) => typed('unique needs a list', isList, v).filter((x, i, a) => a.findIndex((y) => pyEquals(x, y)) === i) },
  replace: { min: 2, max: 2, fn: (v, [a, b]) => pyStr(v).split(pyStr(a)).join(pyStr(b)) },
  split: { min: 0, max: 1, fn: (v, [sep]) => (sep === undefined ? pyStr(v).trim().split(/\s+/).filter(Boolean) : pyStr(v).split(pyStr(sep))) },
  ternary: { min: 2, max: 3, fn: (v, [a, b, n]) => (n !== undefined && v === null ? n : truthy(v) ? a : b) },
};
FILTERS.d = FILTERS.default;

function cmp(a: unknown, b: unknown): number {
  try {
    return pyCompare(a, b);
  } catch (e) {
    throw new EvalFailure((e as Error).message);
  }
}
function contains(h: unknown, n: unknown): boolean {
  try {
    return pyContains(h, n);
  } catch (e) {
    throw new EvalFailure((e as Error).message);
  }
}
function len(v: unknown): number {
  try {
    return pyLen(v);
  } catch (e) {
    throw new EvalFailure((e as Error).message);
  }
}

function compare(op: CompareOp, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
      return pyEquals(a, b);
    case '!=':
      return !pyEquals(a, b);
    case '<':
      return cmp(a, b) < 0;
    case '<=':
      return cmp(a, b) <= 0;
    case '>':
      return cmp(a, b) > 0;
    case '>=':
      return cmp(a, b) >= 0;
    case 'in':
      return contains(b, a);
    case 'not in':
      return !contains(b, a);
  }
}

function arith(op: string, a: unknown, b: unknown): unknown {
  if (op === '~') return pyStr(a) + pyStr(b);
  if (op === '+') {
    if (isStr(a) && isStr(b)) return a + b;
    if (isList(a) && isList(b)) return [...a, ...b];
  }
  if (op === '*') {
    if (isStr(a) && typeof b === 'number') return a.repeat(Math.max(0, b));
    if (isList(a) && typeof b === 'number') return Array.from({ length: Math.max(0, b) }, () => a).flat(1);
  }
  if (!isNum(a) || !isNum(b)) throw new EvalFailure(`unsupported operand types for ${op}: ${pyType(a)} and ${pyType(b)}`);
  const x = Number(a);
  const y = Number(b);
  if ((op === '/' || op === '//' || op === '%') && y === 0) throw new EvalFailure('division by zero');
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return x / y;
    case '//':
      return Math.floor(x / y);
    default:
      return x - y * Math.floor(x / y); // Python's %: the sign of the divisor
  }
}

function pathName(n: ExprNode, key: unknown): string {
  const base = n.type === 'member' || n.type === 'name' ? describePath(n) : '(value)';
  return typeof key === 'string' && /^[A-Za-z_]\w*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}
function describePath(n: ExprNode): string {
  if (n.type === 'name') return n.name;
  if (n.type === 'member') return pathName(n.object, typeof n.key === 'string' ? n.key : n.key.type === 'lit' ? n.key.value : '…');
  return '(value)';
}

export function evalNode(n: ExprNode, vars: Record<string, unknown>): unknown {
  switch (n.type) {
    case 'lit':
      return n.value;
    case 'list':
      return n.items.map((i) => need(evalNode(i, vars)));
    case 'dict':
      return Object.fromEntries(n.entries.map(([k, v]) => [pyStr(need(evalNode(k, vars))), need(evalNode(v, vars))]));
    case 'name': {
      const r = getMember(vars, n.name);
      return r.found && r.value !== undefined ? r.value : new Undef(n.name);
    }
    case 'member': {
      const obj = evalNode(n.object, vars);
      const key = typeof n.key === 'string' ? n.key : need(evalNode(n.key, vars));
      const name = pathName(n.object, key);
      if (obj instanceof Undef) return new Undef(name, obj.why ?? `'${obj.name}' is undefined`);
      const r = getMember(obj, key as string | number);
      if (r.found && r.value !== undefined) return r.value;
      const parent = describePath(n.object);
      const k = typeof key === 'string' ? `'${key}'` : String(key);
      const scalar = obj !== null && typeof obj !== 'object' ? ` (${pyType(obj)})` : '';
      return new Undef(name, obj === null ? `'${parent}' is None` : `'${parent}'${scalar} has no member ${k}`);
    }
    case 'not':
      return !truthy(need(evalNode(n.operand, vars)));
    case 'neg': {
      const v = need(evalNode(n.operand, vars));
      if (!isNum(v)) throw new EvalFailure(`bad operand type for unary -: ${pyType(v)}`);
      return -Number(v);
    }
    case 'and': {
      const l = need(evalNode(n.left, vars));
      return truthy(l) ? need(evalNode(n.right, vars)) : l;
    }
    case 'or': {
      const l = need(evalNode(n.left, vars));
      return truthy(l) ? l : need(evalNode(n.right, vars));
    }
    case 'compare': {
      let left = need(evalNode(n.first, vars));
      for (const { op, right } of n.rest) {
        const r = need(evalNode(right, vars));
        if (!compare(op, left, r)) return false;
        left = r;
      }
      return true;
    }
    case 'binop':
      return arith(n.op, need(evalNode(n.left, vars)), need(evalNode(n.right, vars)));
    case 'test': {
      const test = TESTS[n.name];
      if (!test) throw new EvalFailure(`unknown test '${n.name}'; known tests: ${Object.keys(TESTS).sort().join(', ')}`);
      const want = TEST_ARGS[n.name] ?? 0;
      if (n.args.length !== want) throw new EvalFailure(`test '${n.name}' takes ${want} argument${want === 1 ? '' : 's'}, got ${n.args.length}`);
      const raw = evalNode(n.operand, vars);
      const v = n.name === 'defined' || n.name === 'undefined' ? raw : need(raw);
      const args = n.args.map((a) => need(evalNode(a, vars)));
      const res = test(v, args);
      return n.negated ? !res : res;
    }
    case 'filter': {
      const f = FILTERS[n.name];
      if (!f) throw new EvalFailure(`unknown filter '${n.name}'; known filters: ${Object.keys(FILTERS).sort().join(', ')}`);
      if (n.args.length < f.min || n.args.length > f.max) throw new EvalFailure(`filter '${n.name}' takes ${f.min === f.max ? f.min : `${f.min} to ${f.max}`} arguments, got ${n.args.length}`);
      const raw = evalNode(n.operand, vars);
      const lenient = n.name === 'default' || n.name === 'd' || n.name === 'mandatory';
      const args = n.args.map((a) => need(evalNode(a, vars)));
      return f.fn(lenient ? raw : need(raw), args);
    }
    case 'cond':
      if (truthy(need(evalNode(n.test, vars)))) return evalNode(n.then, vars);
      return n.else ? evalNode(n.else, vars) : null;
  }
}

export const TEST_NAMES = Object.keys(TESTS).sort();
export const FILTER_NAMES = Object.keys(FILTERS).sort();

/** Static check: unknown filters/tests and wrong argument counts, found before any host runs. */
export function checkNames(n: ExprNode, problems: string[]): void {
  const visit = (x: ExprNode | undefined): void => {
    if (!x) return;
    switch (x.type) {
      case 'list':
        return x.items.forEach(visit);
      case 'dict':
        return x.entries.forEach(([k, v]) => (visit(k), visit(v)));
      case 'member':
        visit(x.object);
        if (typeof x.key !== 'string') visit(x.key);
        return;
      case 'not':
      case 'neg':
        return visit(x.operand);
      case 'and':
      case 'or':
      case 'binop':
        visit(x.left);
        return visit(x.right);
      case 'compare':
        visit(x.first);
        return x.rest.forEach((r) => visit(r.right));
      case 'cond':
        visit(x.test);
        visit(x.then);
        return visit(x.else);
      case 'test': {
        if (!TESTS[x.name]) problems.push(`unknown test '${x.name}' at column ${x.col}; known tests: ${TEST_NAMES.join(', ')}`);
        else if (x.args.length !== (TEST_ARGS[x.name] ?? 0)) problems.push(`test '${x.name}' takes ${TEST_ARGS[x.name] ?? 0} argument(s), got ${x.args.length} (column ${x.col})`);
        visit(x.operand);
        return x.args.forEach(visit);
      }
      case 'filter': {
        const f = FILTERS[x.name];
        if (!f) problems.push(`unknown filter '${x.name}' at column ${x.col}; known filters: ${FILTER_NAMES.join(', ')}`);
        else if (x.args.length < f.min || x.args.length > f.max) problems.push(`filter '${x.name}' takes ${f.min === f.max ? f.min : `${f.min} to ${f.max}`} argument(s), got ${x.args.length} (column ${x.col})`);
        visit(x.operand);
        return x.args.forEach(visit);
      }
      default:
        return;
    }
  };
  visit(n);
}
