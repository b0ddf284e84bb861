// Handlebars for every templated value: noEscape (config files are not HTML), strict about
// undefined variables, a private instance with our helpers only, compiled templates cached by text.
//
// Handlebars' own strict mode only checks `{{a.b}}` mustaches: helper arguments (`{{join xs}}`,
// `{{#each xs}}`) are looked up leniently and a missing middle segment is a raw TypeError. So
// every variable path is rewritten in the AST to `(__get head <meta>)`, which walks the rest of
// the path on own properties and names the whole path when it is undefined. `default`'s first
// argument and the condition of if/unless/with use `__try` instead (undefined is allowed there).
import Handlebars from 'handlebars';
import { PlayError, formatPos } from '../errors.js';
import { getMember } from './expr-values.js';
import { jinjaProblem } from './template-jinja.js';
import { HELPERS, HELPER_NAMES } from './template-helpers.js';

export { HELPER_DOCS, HELPER_NAMES } from './template-helpers.js';

/** Where a template comes from: the file position of the field, the task and the field name. */
export interface TemplateOrigin {
  file: string;
  line?: number;
  col?: number;
  task?: string;
  field?: string;
}

/** A template that cannot render: undefined variable, syntax error, helper misuse. */
export class TemplateError extends PlayError {
  constructor(
    message: string,
    /** The undefined variable's path, when that is the problem. */
    readonly variable?: string,
    /** From templateVariables: the problem alone and where it is inside the template text. */
    readonly inner?: { reason: string; line?: number; col?: number },
  ) {
    super(message);
  }
}

type Node = any; // Handlebars AST nodes are rewritten in place; their typings are not mutable-friendly.

interface PathMeta {
  /** The path as written, e.g. `net.mtu` or `@root.x`. */
  name: string;
  /** The head's name as written (`net`). */
  head: string;
  /** Segments to walk after the head. */
  rest: string[];
  line: number;
  col: number;
}

interface Compiled {
  fn: HandlebarsTemplateDelegate;
  meta: PathMeta[];
  /** The text is exactly one `{{ … }}`: the raw value is returned, not a string. */
  exact: boolean;
}

/** A problem located inside the template text (line/col within the text, 1-based). */
class InnerError extends Error {
  constructor(message: string, readonly line?: number, readonly col?: number, readonly variable?: string) {
    super(message);
  }
}

const LENIENT_FIRST = new Set(['if', 'unless', 'with', 'default']);
const INTERNAL = ['__get', '__try', '__out'];

const hb = Handlebars.create();
// Handlebars' built-in `log` helper would shadow a variable named `log` ({{log}} renders empty,
// silently): operators name variables log, so the variable must win.
hb.unregisterHelper('log');
for (const [name, fn] of Object.entries(HELPERS)) hb.registerHelper(name, fn as Handlebars.HelperDelegate);

function walkPath(head: unknown, idx: number, options: { data: { __meta: PathMeta[] } }, lenient: boolean): unknown {
  const m = options.data.__meta[idx];
  let cur = head;
  if (cur === undefined) {
    if (lenient) return undefined;
    throw new InnerError(`undefined variable '${m.head}'`, m.line, m.col, m.head);
  }
  let walked = m.head;
  for (const seg of m.rest) {
    const r = getMember(cur, seg);
    if (!r.found || r.value === undefined) {
      if (lenient) return undefined;
      const what = cur === null ? `'${walked}' is null` : `'${walked}' has no member '${seg}'`;
      throw new InnerError(`undefined variable '${m.name}' (${what})`, m.line, m.col, m.name);
    }
    cur = r.value;
    walked += `.${seg}`;
  }
  return cur;
}

hb.registerHelper('__get', (head: unknown, idx: number, options: any) => walkPath(head, idx, options, false));
hb.registerHelper('__try', (head: unknown, idx: number, options: any) => walkPath(head, idx, options, true));
// Output of every mustache: captured raw for exact templates, else text (containers as JSON).
hb.registerHelper('__out', (value: unknown, options: any) => {
  const cap = options.data.__capture as { value?: unknown } | undefined;
  if (cap) {
    cap.value = value;
    return '';
  }
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
});

const KNOWN_HELPERS: Record<string, boolean> = Object.fromEntries([...HELPER_NAMES, ...INTERNAL].map((n) => [n, true]));

/** Line and column (1-based) of an offset in the text. */
function lineCol(text: string, index: number): { line: number; col: number } {
  const before = text.slice(0, index);
  return { line: before.split('\n').length, col: index - before.lastIndexOf('\n') };
}

function parse(text: string): Node {
  // Jinja by habit: refused with the Handlebars equivalent, before Handlebars' token dump.
  const jinja = jinjaProblem(text);
  if (jinja) {
    const at = lineCol(text, jinja.index);
    throw new InnerError(jinja.message, at.line, at.col);
  }
  try {
    return hb.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const m = /^Parse error on line (\d+):\n[^\n]*\n(-*)\^\n([\s\S]*)$/.exec(msg);
    // The message's caret points into a 20-character excerpt (earlier lines included), not into
    // the line: the lexer still holds where the offending token starts.
    const at = (hb as unknown as { Parser?: { lexer?: { yylloc?: { first_line: number; first_column: number } } } }).Parser?.lexer?.yylloc;
    if (m) throw new InnerError(`template syntax error: ${m[3].replace(/\n/g, ' ')}`, at ? at.first_line : Number(m[1]), at ? at.first_column + 1 : m[2].length + 1);
    const loc = / - (\d+):(\d+)$/.exec(msg);
    throw new InnerError(`template syntax error: ${msg.replace(/ - \d+:\d+$/, '')}`, loc ? Number(loc[1]) : undefined, loc ? Number(loc[2]) + 1 : undefined);
  }
}

const isHelperCall = (p: Node): boolean =>
  p.type === 'PathExpression' && !p.data && p.depth === 0 && p.parts.length === 1 && !/^(\.|this\b)/.test(p.original) && HELPER_NAMES.has(p.parts[0]);

function unknownHelper(p: Node, block = false): InnerError {
  const hint = block ? ` (a section needs a block helper: {{#if ${p.original}}} or {{#each ${p.original}}})` : '';
  return new InnerError(`unknown helper '${p.original}'${hint}`, p.loc?.start.line, (p.loc?.start.column ?? 0) + 1);
}

/** Rewrites variable paths into `__get`/`__try` calls; collects their metadata. */
class Rewriter {
  readonly meta: PathMeta[] = [];

  expr(e: Node, lenient: boolean): Node {
    if (e.type === 'SubExpression') {
      this.call(e);
      return e;
    }
    if (e.type !== 'PathExpression' || e.parts.length === 0) return e;
    if (e.data && e.parts[0] !== 'root') return e; // @index, @key, @first: always defined in their block
    if (e.data && e.parts.length === 1) return e; // @root itself
    const rest = e.data ? e.parts.slice(2) : e.parts.slice(1);
    const headParts = e.data ? e.parts.slice(0, 2) : e.parts.slice(0, 1);
    const name = e.data ? e.original.replace(/^@root\./, '') : e.original.replace(/^(this\.|\.\/)/, '');
    const head0 = e.data ? headParts[1] : headParts[0];
    const idx = this.meta.push({ name, head: head0, rest, line: e.loc.start.line, col: e.loc.start.column + 1 }) - 1;
    const head = { ...e, parts: headParts };
    const loc = e.loc;
    return {
      type: 'SubExpression',
      path: { type: 'PathExpression', data: false, depth: 0, parts: [lenient ? '__try' : '__get'], original: lenient ? '__try' : '__get', loc },
      params: [head, { type: 'NumberLiteral', value: idx, original: idx, loc }],
      hash: undefined,
      loc,
    };
  }

  call(node: Node): void {
    if (!isHelperCall(node.path)) throw unknownHelper(node.path, node.type === 'BlockStatement');
    const lenientFirst = LENIENT_FIRST.has(node.path.parts[0]);
    node.params = node.params.map((p: Node, i: number) => this.expr(p, lenientFirst && i === 0));
    if (node.hash) for (const pair of node.hash.pairs) pair.value = this.expr(pair.value, false);
  }

  program(prog: Node | undefined): void {
    if (!prog) return;
    for (const st of prog.body) this.statement(st);
  }

  statement(st: Node): void {
    switch (st.type) {
      case 'MustacheStatement': {
        let inner: Node;
        if (st.path.type === 'PathExpression' && isHelperCall(st.path)) {
          this.call(st);
          inner = { type: 'SubExpression', path: st.path, params: st.params, hash: st.hash, loc: st.loc };
        } else if (st.params.length > 0 || (st.hash && st.hash.pairs.length > 0)) {
          throw unknownHelper(st.path);
        } else {
          inner = this.expr(st.path, false);
        }
        st.path = { type: 'PathExpression', data: false, depth: 0, parts: ['__out'], original: '__out', loc: st.loc };
        st.params = [inner];
        st.hash = undefined;
        return;
      }
      case 'BlockStatement':
        this.call(st);
        this.program(st.program);
        this.program(st.inverse);
        return;
      case 'PartialStatement':
      case 'PartialBlockStatement':
      case 'DecoratorBlock':
      case 'Decorator':
        throw new InnerError(`template syntax error: ${st.type.replace(/Statement$/, '').toLowerCase()}s are not supported`, st.loc?.start.line, (st.loc?.start.column ?? 0) + 1);
      default:
        return; // ContentStatement, CommentStatement
    }
  }
}

const cache = new Map<string, Compiled>();
const CACHE_MAX = 20000;

function compile(text: string): Compiled {
  const hit = cache.get(text);
  if (hit) return hit;
  const ast = parse(text);
  const exact = ast.body.length === 1 && ast.body[0].type === 'MustacheStatement';
  const rw = new Rewriter();
  rw.program(ast);
  const fn = hb.compile(ast, { strict: true, noEscape: true, knownHelpers: KNOWN_HELPERS, knownHelpersOnly: true });
  const c: Compiled = { fn, meta: rw.meta, exact };
  if (cache.size >= CACHE_MAX) cache.clear();
  cache.set(text, c);
  return c;
}

function place(where: TemplateOrigin, inner: InnerError | undefined, multiLine: boolean): string {
  // A field's own position is the useful one; for template files the line inside the text is.
  if (where.line !== undefined && !multiLine) return formatPos(where);
  if (where.line !== undefined) return `${formatPos(where)}${inner?.line ? ` (template line ${inner.line})` : ''}`;
  return formatPos({ file: where.file, line: inner?.line, col: inner?.line ? inner.col : undefined });
}

function describe(where: TemplateOrigin): string {
  const bits: string[] = [];
  if (where.task) bits.push(` in task '${where.task}'`);
  if (where.field) bits.push(` (field ${where.field})`);
  return bits.join('');
}

function toTemplateError(e: unknown, text: string, where: TemplateOrigin): TemplateError {
  if (e instanceof TemplateError) return e;
  const multiLine = text.includes('\n');
  let inner: InnerError;
  if (e instanceof InnerError) inner = e;
  else if (e instanceof Error) {
    // Handlebars' strict mode: `"x" not defined in [object Object] - 1:2` (a safety net behind __get).
    const m = /^"([^"]*)" not defined in .* - (\d+):(\d+)$/.exec(e.message);
    inner = m ? new InnerError(`undefined variable '${m[1]}'`, Number(m[2]), Number(m[3]) + 1, m[1]) : new InnerError(`template error: ${e.message}`);
  } else inner = new InnerError(`template error: ${String(e)}`);
  return new TemplateError(`${place(where, inner, multiLine)}: ${inner.message}${describe(where)}`, inner.variable);
}

function run(text: string, vars: Record<string, unknown>, where: TemplateOrigin, raw: boolean): unknown {
  try {
    const c = compile(text);
    const capture = raw && c.exact ? {} as { value?: unknown } : undefined;
    const out = c.fn(vars, { data: { __meta: c.meta, __capture: capture }, allowProtoPropertiesByDefault: false, allowProtoMethodsByDefault: false });
    return capture ? capture.value : out;
  } catch (e) {
    throw toTemplateError(e, text, where);
  }
}

/**
 * Renders one templated string. Exactly one `{{ expr }}` returns the raw value (a list stays a
 * list, a number a number, like Ansible); anything else returns the rendered text.
 */
export function renderString(text: string, vars: Record<string, unknown>, where: TemplateOrigin): unknown {
  if (!text.includes('{{') && !text.includes('{%')) return text;
  const bare = bareVariable(text, vars);
  if (bare.found) return bare.value;
  return run(text, vars, where, true);
}

/**
 * `{{ name }}` of a variable the host has: its value, without Handlebars, whose every render
 * copies all the helpers first (~0.3 ms: a fleet renders `ansible_user: "{{ inventory_hostname }}"`
 * for every host, more than once). Anything else (a helper's name, a path, an undefined or
 * inherited name, a function) goes the whole way, errors included.
 */
const LITERALS = new Set(['this', 'true', 'false', 'null', 'undefined']);

function bareVariable(text: string, vars: Record<string, unknown>): { found: boolean; value?: unknown } {
  const m = /^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/.exec(text);
  if (!m || HELPER_NAMES.has(m[1]) || LITERALS.has(m[1]) || m[1].startsWith('__') || !Object.prototype.hasOwnProperty.call(vars, m[1])) return { found: false };
  const value = vars[m[1]];
  if (value === undefined || typeof value === 'function') return { found: false };
  return { found: true, value };
}

/** Renders every string in a structure of lists and dicts, keys included. */
export function renderDeep(value: unknown, vars: Record<string, unknown>, where: TemplateOrigin): unknown {
  if (typeof value === 'string') return renderString(value, vars, where);
  if (Array.isArray(value)) return value.map((v) => renderDeep(v, vars, where));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[String(renderString(k, vars, where))] = renderDeep(v, vars, where);
    return out;
  }
  return value;
}

/** Renders a template file's text; always a string. Errors point at the line inside the file. */
export function renderFile(text: string, vars: Record<string, unknown>, where: TemplateOrigin): string {
  if (!text.includes('{{') && !text.includes('{%')) return text;
  return run(text, vars, where, false) as string;
}

interface Scope {
  /** Inside each/with: bare names refer to the block's context, not to variables. */
  scoped: boolean;
  blockParams: Set<string>;
  /** Names tested by an enclosing if/unless/with: may be undefined there. */
  guarded: Set<string>;
}

function rootName(p: Node, s: Scope): string | undefined {
  if (p.type !== 'PathExpression' || p.parts.length === 0) return undefined;
  if (p.data) return p.parts[0] === 'root' && p.parts.length > 1 ? p.parts[1] : undefined;
  if (p.depth > 0 || s.scoped || /^(\.|this\b)/.test(p.original)) return undefined;
  if (s.blockParams.has(p.parts[0])) return undefined;
  return p.parts[0];
}

/** First unguarded use of each root name, 1-based inside the template text. */
type Uses = Map<string, { line: number; col: number }>;

function collect(node: Node, s: Scope, out: Uses): void {
  const exprs = (params: Node[], hash: Node | undefined, lenientFirst: boolean) => {
    params.forEach((p, i) => {
      if (p.type === 'SubExpression') return call(p);
      const name = rootName(p, s);
      if (name && !(lenientFirst && i === 0) && !s.guarded.has(name) && !out.has(name)) out.set(name, { line: p.loc.start.line, col: p.loc.start.column + 1 });
    });
    for (const pair of hash?.pairs ?? []) exprs([pair.value], undefined, false);
  };
  const call = (n: Node) => {
    if (!isHelperCall(n.path)) throw unknownHelper(n.path, n.type === 'BlockStatement');
    exprs(n.params, n.hash, LENIENT_FIRST.has(n.path.parts[0]));
  };
  for (const st of node.body) {
    if (st.type === 'MustacheStatement') {
      if (st.path.type === 'PathExpression' && isHelperCall(st.path)) call(st);
      else if (st.params.length || st.hash?.pairs.length) throw unknownHelper(st.path);
      else exprs([st.path], undefined, false);
    } else if (st.type === 'BlockStatement') {
      call(st);
      const helper = st.path.parts[0];
      const first = st.params[0] ? rootName(st.params[0], s) : undefined;
      const inner: Scope = {
        scoped: s.scoped || helper === 'each' || helper === 'with',
        blockParams: new Set([...s.blockParams, ...(st.program?.blockParams ?? [])]),
        guarded: new Set(s.guarded),
      };
      if (first && (helper === 'if' || helper === 'unless' || helper === 'with')) inner.guarded.add(first);
      if (st.program) collect(st.program, inner, out);
      if (st.inverse) collect(st.inverse, helper === 'each' || helper === 'with' ? s : inner, out);
    } else if (st.type !== 'ContentStatement' && st.type !== 'CommentStatement') {
      throw new InnerError(`template syntax error: ${String(st.type).replace(/Statement$/, '').toLowerCase()}s are not supported`);
    }
  }
}

/**
 * The root variable names a template needs defined: not helper names, not block params or
 * each/with-scoped names, not `default`'s first argument nor names guarded by if/unless/with.
 * Throws TemplateError (without a file position) on a syntax error or an unknown helper.
 */
export function templateVariables(text: string): string[] {
  return templateVariableUses(text).map((u) => u.name);
}

/** templateVariables with where each name is first used (line/col inside the text), for template files. */
export function templateVariableUses(text: string): Array<{ name: string; line: number; col: number }> {
  if (!text.includes('{{') && !text.includes('{%')) return [];
  try {
    const out: Uses = new Map();
    collect(parse(text), { scoped: false, blockParams: new Set(), guarded: new Set() }, out);
    return [...out].map(([name, at]) => ({ name, ...at }));
  } catch (e) {
    if (e instanceof InnerError) {
      const at = e.line !== undefined ? ` at line ${e.line}${e.col !== undefined ? ` column ${e.col}` : ''}` : '';
      const where = text.includes('\n') || e.line !== 1 ? at : e.col !== undefined ? ` at column ${e.col}` : '';
      throw new TemplateError(`${e.message}${where}`, undefined, { reason: e.message, line: e.line, col: e.col });
    }
    throw e;
  }
}
