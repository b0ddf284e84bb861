// Ansible's INI plugin types values with Python's ast.literal_eval and keeps the raw text when that
// fails. This is a small reader for the same literal grammar (numbers, strings, True/False/None,
// lists, tuples, dicts) so `ansible_port=22` is a number and `name="22"` a string, as in Ansible.

const FAIL = Symbol('not a literal');
type Result = unknown | typeof FAIL;

class Reader {
  i = 0;
  constructor(readonly s: string) {}

  skip(): void {
    const s = this.s;
    for (;;) {
      const c = s[this.i];
      if (c === ' ' || c === '\t' || c === '\f' || c === '\n' || c === '\r') this.i++;
      else if (c === '#') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
      } else return;
    }
  }

  peek(): string | undefined {
    this.skip();
    return this.s[this.i];
  }

  eat(ch: string): boolean {
    if (this.peek() === ch) {
      this.i++;
      return true;
    }
    return false;
  }
}

const NUMBER = /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:(?:\d(?:_?\d)*)?\.\d(?:_?\d)*|\d(?:_?\d)*\.?)(?:[eE][+-]?\d(?:_?\d)*)?)/y;
const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const STRING_START = /([rRbBuU]{0,2})('''|"""|'|")/y;

function readNumber(r: Reader): Result {
  NUMBER.lastIndex = r.i;
  const m = NUMBER.exec(r.s);
  if (!m) return FAIL;
  const text = m[0];
  const after = r.s[r.i + text.length];
  // `1abc`, `1j` (complex) and `1.2.3` are not plain numbers.
  if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) return FAIL;
  const clean = text.replace(/_/g, '');
  let value: number;
  if (/^0[xXoObB]/.test(clean)) value = Number(clean);
  else if (/[.eE]/.test(clean)) value = Number(clean);
  else {
    // Python 3 refuses leading zeros in decimal integers ("010"), except zero itself.
    if (/^0+[1-9]/.test(clean)) return FAIL;
    value = Number(clean);
  }
  r.i += text.length;
  return value;
}

function readEscape(body: string, j: number, bytes: boolean): [string, number] | undefined {
  const c = body[j];
  const simple: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };
  if (c in simple) return [simple[c], j + 1];
  if (/[0-7]/.test(c)) {
    const m = /^[0-7]{1,3}/.exec(body.slice(j))![0];
    return [String.fromCharCode(parseInt(m, 8)), j + m.length];
  }
  const hexLen = c === 'x' ? 2 : !bytes && c === 'u' ? 4 : !bytes && c === 'U' ? 8 : 0;
  if (hexLen) {
    const h = body.slice(j + 1, j + 1 + hexLen);
    if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(h)) return undefined;
    const cp = parseInt(h, 16);
    if (cp > 0x10ffff) return undefined;
    return [String.fromCodePoint(cp), j + 1 + hexLen];
  }
  if (!bytes && c === 'N') return undefined; // \N{NAME}: not worth a name table here
  return ['\\' + c, j + 1]; // unknown escapes stay as written (Python warns, keeps them)
}

/** One string token (with its prefix); undefined when it is not a complete literal. */
function readString(r: Reader): { text: string; bytes: boolean } | undefined {
  STRING_START.lastIndex = r.i;
  const m = STRING_START.exec(r.s);
  if (!m) return undefined;
  const prefix = m[1].toLowerCase();
  if (!/^(?:|r|u|b|br|rb)$/.test(prefix)) return undefined;
  const raw = prefix.includes('r');
  const bytes = prefix.includes('b');
  const quote = m[2];
  let j = r.i + m[0].length;
  let out = '';
  const s = r.s;
  for (;;) {
    if (j >= s.length) return undefined;
    if (s.startsWith(quote, j)) {
      r.i = j + quote.length;
      return { text: out, bytes };
    }
    const c = s[j];
    if (c === '\n' && quote.length === 1) return undefined;
    if (c === '\\') {
      if (j + 1 >= s.length) return undefined;
      if (raw) {
        out += c + s[j + 1];
        j += 2;
        continue;
      }
      const e = readEscape(s, j + 1, bytes);
      if (!e) return undefined;
      out += e[0];
      j = e[1];
      continue;
    }
    if (bytes && c.charCodeAt(0) > 127) return undefined;
    out += c;
    j++;
  }
}

function readAtom(r: Reader): Result {
  const c = r.peek();
  if (c === undefined) return FAIL;
  if (c === '-' || c === '+') {
    r.i++;
    r.skip();
    const n = readNumber(r);
    if (n === FAIL) return FAIL;
    return c === '-' ? -(n as number) : n;
  }
  if (/[0-9.]/.test(c)) return readNumber(r);
  STRING_START.lastIndex = r.i;
  if (STRING_START.test(r.s)) {
    // Adjacent strings concatenate ('a' 'b'); str and bytes cannot be mixed.
    const first = readString(r);
    if (!first) return FAIL;
    let text = first.text;
    for (;;) {
      const save = r.i;
      r.skip();
      STRING_START.lastIndex = r.i;
      if (!STRING_START.test(r.s)) {
        r.i = save;
        break;
      }
      const next = readString(r);
      if (!next || next.bytes !== first.bytes) return FAIL;
      text += next.text;
    }
    return text;
  }
  NAME.lastIndex = r.i;
  const nm = NAME.exec(r.s);
  if (nm) {
    r.i += nm[0].length;
    if (nm[0] === 'True') return true;
    if (nm[0] === 'False') return false;
    if (nm[0] === 'None') return null;
    return FAIL;
  }
  if (c === '[') {
    r.i++;
    return readSequence(r, ']');
  }
  if (c === '(') {
    r.i++;
    if (r.eat(')')) return [];
    const first = readAtom(r);
    if (first === FAIL) return FAIL;
    if (r.eat(')')) return first; // parentheses only group
    if (!r.eat(',')) return FAIL;
    const rest = readSequence(r, ')');
    return rest === FAIL ? FAIL : [first, ...(rest as unknown[])];
  }
  if (c === '{') {
    r.i++;
    return readBraces(r);
  }
  return FAIL;
}

function readSequence(r: Reader, close: string): Result {
  const items: unknown[] = [];
  for (;;) {
    if (r.eat(close)) return items;
    const v = readAtom(r);
    if (v === FAIL) return FAIL;
    items.push(v);
    if (r.eat(',')) continue;
    return r.eat(close) ? items : FAIL;
  }
}

function dictKey(k: unknown): string | typeof FAIL {
  if (typeof k === 'string') return k;
  if (typeof k === 'number') return String(k);
  if (typeof k === 'boolean') return k ? 'true' : 'false';
  if (k === null) return 'null';
  return FAIL; // lists are unhashable in Python
}

function readBraces(r: Reader): Result {
  if (r.eat('}')) return {};
  const first = readAtom(r);
  if (first === FAIL) return FAIL;
  if (!r.eat(':')) {
    // A set: JSON has no sets, a list is the closest faithful value.
    if (Array.isArray(first) || (first !== null && typeof first === 'object')) return FAIL;
    if (r.eat('}')) return [first];
    if (!r.eat(',')) return FAIL;
    const rest = readSequence(r, '}');
    return rest === FAIL ? FAIL : [first, ...(rest as unknown[])];
  }
  const out: Record<string, unknown> = {};
  let key: unknown = first;
  for (;;) {
    const value = readAtom(r);
    if (value === FAIL) return FAIL;
    const k = dictKey(key);
    if (k === FAIL) return FAIL;
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
    if (r.eat('}')) return out;
    if (!r.eat(',')) return FAIL;
    if (r.eat('}')) return out;
    key = readAtom(r);
    if (key === FAIL || !r.eat(':')) return FAIL;
  }
}

/** Python's literal_eval(text) as JSON-like data, or `text` itself when it is not a literal. */
export function pythonLiteral(text: string): unknown {
  const r = new Reader(text.replace(/^[ \t]+/, ''));
  const v = readAtom(r);
  r.skip();
  if (v === FAIL || r.i < r.s.length) return text;
  return v;
}
