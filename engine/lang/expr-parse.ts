// The `when:` expression language, parsed by hand (never eval): Jinja's grammar and precedence,
// a subset of its operators. Every node keeps its 1-based column for error messages.
import { PlayError } from '../errors.js';

export type ExprNode =
  | { type: 'lit'; value: unknown; col: number }
  | { type: 'list'; items: ExprNode[]; col: number }
  | { type: 'dict'; entries: Array<[ExprNode, ExprNode]>; col: number }
  | { type: 'name'; name: string; col: number }
  /** `a.b` (key is a string) or `a['b']` / `a[0]` (key is an expression). */
  | { type: 'member'; object: ExprNode; key: string | ExprNode; col: number }
  | { type: 'not'; operand: ExprNode; col: number }
  | { type: 'neg'; operand: ExprNode; col: number }
  | { type: 'and' | 'or'; left: ExprNode; right: ExprNode; col: number }
  /** Python-style chain: `a < b <= c` means `a < b and b <= c`. */
  | { type: 'compare'; first: ExprNode; rest: Array<{ op: CompareOp; right: ExprNode }>; col: number }
  | { type: 'binop'; op: '+' | '-' | '*' | '/' | '//' | '%' | '~'; left: ExprNode; right: ExprNode; col: number }
  | { type: 'test'; operand: ExprNode; name: string; negated: boolean; args: ExprNode[]; col: number }
  | { type: 'filter'; operand: ExprNode; name: string; args: ExprNode[]; col: number }
  | { type: 'cond'; test: ExprNode; then: ExprNode; else?: ExprNode; col: number };

export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not in';

/** A malformed expression: `column` is 1-based inside the expression text. */
export class ExprSyntaxError extends PlayError {
  constructor(
    readonly expression: string,
    readonly column: number,
    readonly reason: string,
  ) {
    super(`invalid expression "${expression}" at column ${column}: ${reason}`);
  }
}

interface Token {
  kind: 'num' | 'str' | 'name' | 'op' | 'end';
  text: string;
  value?: unknown;
  col: number;
}

const OPS = ['//', '==', '!=', '<=', '>=', '<', '>', '(', ')', '[', ']', '{', '}', ',', '.', '|', '+', '-', '*', '/', '%', '~', ':'];
const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  const fail = (at: number, why: string): never => {
    throw new ExprSyntaxError(src, at + 1, why);
  };
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (/[0-9]/.test(c)) {
      const m = /^[0-9][0-9_]*(\.[0-9][0-9_]*)?([eE][+-]?[0-9]+)?/.exec(src.slice(i))!;
      i += m[0].length;
      if (/[A-Za-z_]/.test(src[i] ?? '')) fail(i, `unexpected '${src[i]}' after a number`);
      out.push({ kind: 'num', text: m[0], value: Number(m[0].replace(/_/g, '')), col: start + 1 });
      continue;
    }
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!;
      i += m[0].length;
      out.push({ kind: 'name', text: m[0], col: start + 1 });
      continue;
    }
    if (c === "'" || c === '"') {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) fail(start, 'unterminated string');
        const d = src[i];
        if (d === c) break;
        if (d === '\\' && i + 1 < src.length) {
          const e = src[i + 1];
          s += ESCAPES[e] ?? `\\${e}`;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      i++;
      out.push({ kind: 'str', text: src.slice(start, i), value: s, col: start + 1 });
      continue;
    }
    const op = OPS.find((o) => src.startsWith(o, i));
    if (!op) {
      if (c === '=') fail(i, `unexpected '=' (use '==' to compare)`);
      if (c === '&' || c === '!') fail(i, `unexpected '${c}' (use 'and', 'or', 'not')`);
      fail(i, `unexpected '${c}'`);
    }
    i += op!.length;
    out.push({ kind: 'op', text: op!, col: start + 1 });
  }
  out.push({ kind: 'end', text: '', col: src.length + 1 });
  return out;
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'is', 'if', 'else']);
const CONSTANTS: Record<string, unknown> = { true: true, True: true, false: false, False: false, none: null, None: null, null: null };

class Parser {
  private pos = 0;
  constructor(
    private readonly src: string,
    private readonly toks: Token[],
  ) {}

  private get cur(): Token {
    return this.toks[this.pos];
  }
  private peek(n = 1): Token {
    return this.toks[Math.min(this.pos + n, this.toks.length - 1)];
  }
  private fail(t: Token, why?: string): never {
    const what = t.kind === 'end' ? 'end of expression' : `'${t.text}'`;
    throw new ExprSyntaxError(this.src, t.col, why ?? `unexpected ${what}`);
  }
  private isOp(text: string): boolean {
    return this.cur.kind === 'op' && this.cur.text === text;
  }
  private isWord(text: string): boolean {
    return this.cur.kind === 'name' && this.cur.text === text;
  }
  private expectOp(text: string): Token {
    if (!this.isOp(text)) this.fail(this.cur, `expected '${text}' but found ${this.cur.kind === 'end' ? 'end of expression' : `'${this.cur.text}'`}`);
    return this.toks[this.pos++];
  }

  parseAll(): ExprNode {
    if (this.cur.kind === 'end') this.fail(this.cur, 'empty expression');
    const n = this.condExpr();
    if ((this.cur as Token).kind !== 'end') this.fail(this.cur);
    return n;
  }

  private condExpr(): ExprNode {
    let n = this.orExpr();
    while (this.isWord('if')) {
      const col = this.cur.col;
      this.pos++;
      const test = this.orExpr();
      let other: ExprNode | undefined;
      if (this.isWord('else')) {
        this.pos++;
        other = this.condExpr();
      }
      n = { type: 'cond', test, then: n, else: other, col };
    }
    return n;
  }

  private orExpr(): ExprNode {
    return this.logical('or', () => this.andExpr());
  }

  private andExpr(): ExprNode {
    return this.logical('and', () => this.notExpr());
  }

  private logical(word: 'and' | 'or', next: () => ExprNode): ExprNode {
    let n = next();
    while (this.isWord(word)) {
      const col = this.cur.col;
      this.pos++;
      n = { type: word, left: n, right: next(), col };
    }
    return n;
  }

  private notExpr(): ExprNode {
    if (this.isWord('not')) {
      const col = this.cur.col;
      this.pos++;
      return { type: 'not', operand: this.notExpr(), col };
    }
    return this.compare();
  }

  private compareOp(): CompareOp | undefined {
    const t = this.cur;
    if (t.kind === 'op' && ['==', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.pos++;
      return t.text as CompareOp;
    }
    if (this.isWord('in')) {
      this.pos++;
      return 'in';
    }
    if (this.isWord('not') && this.peek().kind === 'name' && this.peek().text === 'in') {
      this.pos += 2;
      return 'not in';
    }
    return undefined;
  }

  private compare(): ExprNode {
    const first = this.additive();
    const rest: Array<{ op: CompareOp; right: ExprNode }> = [];
    for (let op = this.compareOp(); op; op = this.compareOp()) rest.push({ op, right: this.additive() });
    return rest.length ? { type: 'compare', first, rest, col: first.col } : first;
  }

  private binary(next: () => ExprNode, ops: string[]): ExprNode {
    let n = next();
    while (this.cur.kind === 'op' && ops.includes(this.cur.text)) {
      const t = this.toks[this.pos++];
      n = { type: 'binop', op: t.text as '+', left: n, right: next(), col: t.col };
    }
    return n;
  }

  private additive(): ExprNode {
    return this.binary(() => this.concat(), ['+', '-']);
  }
  private concat(): ExprNode {
    return this.binary(() => this.multiplicative(), ['~']);
  }
  private multiplicative(): ExprNode {
    return this.binary(() => this.unary(), ['*', '/', '//', '%']);
  }

  private unary(): ExprNode {
    if (this.isOp('-') || this.isOp('+')) {
      const t = this.toks[this.pos++];
      const operand = this.unary();
      return t.text === '-' ? { type: 'neg', operand, col: t.col } : operand;
    }
    return this.filters(this.postfix(this.primary()));
  }

  private primary(): ExprNode {
    const t = this.cur;
    if (t.kind === 'num' || t.kind === 'str') {
      this.pos++;
      return { type: 'lit', value: t.value, col: t.col };
    }
    if (t.kind === 'name') {
      if (KEYWORDS.has(t.text)) this.fail(t, `unexpected keyword '${t.text}'`);
      this.pos++;
      if (Object.prototype.hasOwnProperty.call(CONSTANTS, t.text)) return { type: 'lit', value: CONSTANTS[t.text], col: t.col };
      return { type: 'name', name: t.text, col: t.col };
    }
    if (this.isOp('(')) {
      this.pos++;
      const n = this.condExpr();
      this.expectOp(')');
      return n;
    }
    if (this.isOp('[')) {
      this.pos++;
      const items: ExprNode[] = [];
      while (!this.isOp(']')) {
        items.push(this.condExpr());
        if (!this.isOp(',')) break;
        this.pos++;
      }
      this.expectOp(']');
      return { type: 'list', items, col: t.col };
    }
    if (this.isOp('{')) {
      this.pos++;
      const entries: Array<[ExprNode, ExprNode]> = [];
      while (!this.isOp('}')) {
        const k = this.condExpr();
        this.expectOp(':');
        entries.push([k, this.condExpr()]);
        if (!this.isOp(',')) break;
        this.pos++;
      }
      this.expectOp('}');
      return { type: 'dict', entries, col: t.col };
    }
    return this.fail(t);
  }

  private postfix(n: ExprNode): ExprNode {
    for (;;) {
      if (this.isOp('.')) {
        this.pos++;
        const k = this.cur;
        if (k.kind === 'name') {
          this.pos++;
          n = { type: 'member', object: n, key: k.text, col: n.col };
        } else if (k.kind === 'num' && /^\d+$/.test(k.text)) {
          this.pos++;
          n = { type: 'member', object: n, key: { type: 'lit', value: Number(k.text), col: k.col }, col: n.col };
        } else this.fail(k, `expected a name after '.'`);
      } else if (this.isOp('[')) {
        this.pos++;
        const key = this.condExpr();
        this.expectOp(']');
        n = { type: 'member', object: n, key, col: n.col };
      } else if (this.isOp('(')) {
        this.fail(this.cur, `function and method calls are not supported (use a filter: x | lower)`);
      } else return n;
    }
  }

  private args(): ExprNode[] {
    const args: ExprNode[] = [];
    if (!this.isOp('(')) return args;
    this.pos++;
    while (!this.isOp(')')) {
      args.push(this.condExpr());
      if (!this.isOp(',')) break;
      this.pos++;
    }
    this.expectOp(')');
    return args;
  }

  private filters(n: ExprNode): ExprNode {
    for (;;) {
      if (this.isOp('|')) {
        this.pos++;
        const name = this.dottedName('a filter name after |');
        n = { type: 'filter', operand: n, name: name.text, args: this.args(), col: name.col };
      } else if (this.isWord('is')) {
        this.pos++;
        let negated = false;
        if (this.isWord('not')) {
          negated = true;
          this.pos++;
        }
        const name = this.dottedName("a test name after 'is'");
        const hadParens = this.isOp('(');
        let args = this.args();
        const t = this.cur;
        const startsPrimary = t.kind === 'num' || t.kind === 'str' || (t.kind === 'name' && !KEYWORDS.has(t.text)) || (t.kind === 'op' && (t.text === '[' || t.text === '{'));
        if (!hadParens && startsPrimary) args = [this.postfix(this.primary())];
        n = { type: 'test', operand: n, name: name.text, negated, args, col: name.col };
      } else return n;
    }
  }

  /** `bool` or `ansible.builtin.bool`: the last segment names the filter/test. */
  private dottedName(what: string): Token {
    const t = this.cur;
    if (t.kind !== 'name') this.fail(t, `expected ${what}`);
    this.pos++;
    let last = t;
    while (this.isOp('.') && this.peek().kind === 'name') {
      this.pos++;
      last = this.toks[this.pos++];
    }
    return { ...last, col: t.col };
  }
}

const cache = new Map<string, ExprNode>();

/** Parses an expression; throws ExprSyntaxError (with the column) when it is malformed. */
export function parseExpression(expr: string): ExprNode {
  const hit = cache.get(expr);
  if (hit) return hit;
  const n = new Parser(expr, tokenize(expr)).parseAll();
  if (cache.size > 20000) cache.clear();
  cache.set(expr, n);
  return n;
}
