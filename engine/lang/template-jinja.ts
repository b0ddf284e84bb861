// Templates are Handlebars, but operators write Jinja by habit. A Jinja statement ({% … %}), a
// filter (`{{ x | default('a') }}`) or a Jinja operator (`{{ a / 8 }}`) is refused with the
// Handlebars that means the same, translated here (pure: text in, message out).
import { HELPER_NAMES } from './template-helpers.js';

const FILTERS: Record<string, (base: string, args: string[], kw: Record<string, string>) => string> = {
  default: (b, a) => `(default ${b} ${a[0] ?? '""'})`,
  d: (b, a) => `(default ${b} ${a[0] ?? '""'})`,
  int: (b, a) => `(int ${[b, ...a].join(' ')})`,
  bool: (b) => `(bool ${b})`,
  length: (b) => `(len ${b})`,
  count: (b) => `(len ${b})`,
  join: (b, a) => `(join ${[b, ...a].join(' ')})`,
  upper: (b) => `(upper ${b})`,
  lower: (b) => `(lower ${b})`,
  to_json: (b) => `(json ${b})`,
  tojson: (b) => `(json ${b})`,
  to_nice_json: (b) => `(json ${b} indent=2)`,
  string: (b) => b,
  first: (b) => `(lookup ${b} 0)`,
  map: (b, _a, kw) => {
    if (!kw.attribute) throw new Error("map() without attribute= has no Handlebars helper");
    return `(map_attr ${b} ${kw.attribute})`;
  },
  indent: (b, a) => `(indent ${[b, ...a].join(' ')})`,
};

const BINARY: Record<string, string> = { '+': 'add', '-': 'sub', '*': 'mul', '/': 'div', '//': 'div', '~': 'concat', '==': 'eq', '!=': 'ne', '<': 'lt', '<=': 'le', '>': 'gt', '>=': 'ge', and: 'and', or: 'or', in: 'in' };

const TOKEN = /\s*(?:('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")|(\d+(?:\.\d+)?)|(\.?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|(\/\/|==|!=|<=|>=|[-+*/~<>|(),=[\]]))/y;

function tokenize(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.length) {
    if (/^\s*$/.test(text.slice(TOKEN.lastIndex))) break;
    const m = TOKEN.exec(text);
    if (!m) throw new Error(`cannot read '${text.slice(TOKEN.lastIndex).trim()}'`);
    out.push(m[1] !== undefined ? `"${m[1].slice(1, -1).replace(/"/g, '\\"')}"` : (m[2] ?? m[3] ?? m[4]));
  }
  return out;
}

/** A small Jinja expression parser that writes the Handlebars equivalent as it goes. */
class Translator {
  private i = 0;
  constructor(private readonly t: string[]) {}
  private peek = () => this.t[this.i];
  private take(expect?: string): string {
    const tok = this.t[this.i++];
    if (tok === undefined || (expect !== undefined && tok !== expect)) throw new Error(`expected '${expect ?? 'more'}'`);
    return tok;
  }
  expr(level = 0): string {
    const levels = [['or'], ['and'], ['==', '!=', '<', '<=', '>', '>=', 'in'], ['+', '-', '~'], ['*', '/', '//']];
    if (level === levels.length) return this.filtered();
    if (level === 2 && this.peek() === 'not') {
      this.take();
      return `(not ${this.expr(level)})`;
    }
    let left = this.expr(level + 1);
    while (levels[level].includes(this.peek())) {
      const op = this.take();
      left = `(${BINARY[op]} ${left} ${this.expr(level + 1)})`;
    }
    return left;
  }
  private filtered(): string {
    let base = this.primary();
    while (this.peek() === '|') {
      this.take();
      const name = this.take();
      const args: string[] = [];
      const kw: Record<string, string> = {};
      if (this.peek() === '(') {
        this.take();
        while (this.peek() !== ')') {
          if (this.t[this.i + 1] === '=') {
            const k = this.take();
            this.take('=');
            kw[k] = this.expr();
          } else args.push(this.expr());
          if (this.peek() === ',') this.take();
        }
        this.take(')');
      }
      const f = FILTERS[name];
      if (!f) throw new Error(`the Jinja filter '${name}' has no Handlebars helper (run 'play help templates' for the helpers)`);
      base = f(base, args, kw);
    }
    return base;
  }
  private primary(): string {
    const tok = this.take();
    if (tok === '(') {
      const e = this.expr();
      this.take(')');
      return e;
    }
    let out = tok;
    while (this.peek() === '[' || this.peek()?.startsWith('.')) {
      if (this.take() !== '[') {
        out += this.t[this.i - 1];
        continue;
      }
      const key = this.take();
      this.take(']');
      out += /^"/.test(key) ? `.${key.slice(1, -1)}` : `.[${key}]`;
    }
    return out;
  }
  done(): boolean {
    return this.i >= this.t.length;
  }
}

/** `x | default('a')` → `default x "a"` (no outer braces); throws with a reason when it cannot. */
export function jinjaToHandlebars(expr: string): string {
  const tr = new Translator(tokenize(expr));
  const out = tr.expr();
  if (!tr.done()) throw new Error('cannot translate all of it');
  return out.startsWith('(') && out.endsWith(')') ? out.slice(1, -1) : out;
}

const STATEMENT = /\{%-?\s*(\w+)([\s\S]*?)-?%\}/;

function statementHint(keyword: string, rest: string): string {
  const forIn = /^\s*(\w+)\s+in\s+([\s\S]+?)\s*$/.exec(rest);
  if (keyword === 'for' && forIn) return `{{#each ${safe(forIn[2])} as |${forIn[1]}|}}…{{/each}}`;
  if (keyword === 'if' || keyword === 'elif') return `{{#if ${safe(rest.trim())}}}…{{else}}…{{/if}}`;
  if (keyword === 'set') return 'a task or play `vars:` entry (or set_fact) instead of {% set %}';
  return '{{#each list as |item|}}…{{/each}} and {{#if x}}…{{/if}} blocks';
}

function safe(expr: string): string {
  try {
    const h = jinjaToHandlebars(expr);
    return /\s/.test(h) ? `(${h})` : h;
  } catch {
    return expr;
  }
}

/** Operators and filters Handlebars has no syntax for, outside quoted strings. */
const JINJA_IN_MUSTACHE = /\||==|!=|<=|>=|\s[-+*/~<>]\s|\/\/|\s(?:and|or|not|in|if)\s|\[['"]/;

export interface JinjaProblem {
  message: string;
  /** Offset of the construct in the text. */
  index: number;
}

/** The first Jinja construct in a template text, with the Handlebars equivalent; undefined if none. */
export function jinjaProblem(text: string): JinjaProblem | undefined {
  const st = STATEMENT.exec(text);
  if (st) return { index: st.index, message: `'${st[0]}' is Jinja syntax; templates here are Handlebars: write ${statementHint(st[1], st[2])}` };
  const comment = /\{#[\s\S]*?#\}/.exec(text);
  if (comment) return { index: comment.index, message: `'${comment[0]}' is a Jinja comment; in Handlebars write {{!-- … --}}` };
  for (const m of text.matchAll(/\{\{(?![#/!>^&]|else\b)([\s\S]*?)\}\}/g)) {
    const inner = m[1];
    const unquoted = inner.replace(/'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"/g, '""');
    if (!JINJA_IN_MUSTACHE.test(unquoted)) continue;
    // `{{and a b}}`, `{{in "hv4" peers}}`: a helper call (its words are arguments, not operators).
    const first = /^\s*([A-Za-z_]\w*)(?:\s|$)/.exec(unquoted)?.[1];
    if (first && HELPER_NAMES.has(first) && !/\||==|!=|<=|>=|\s[-+*/~<>]\s|\/\//.test(unquoted)) continue;
    let hint: string;
    try {
      hint = `write {{${jinjaToHandlebars(inner.trim())}}}`;
    } catch (e) {
      hint = (e as Error).message.includes('filter') ? (e as Error).message : "use the helpers: {{default x \"a\"}}, {{int x}}, {{div a 8}}, {{#if (eq a b)}} (run 'play help templates')";
    }
    return { index: m.index!, message: `'${m[0]}' is Jinja syntax; templates here are Handlebars: ${hint}` };
  }
  return undefined;
}
