// Typed reads of YAML mapping values that record a positioned problem instead of throwing,
// so one pass over a playbook finds every mistake.
import type { Problem, SourcePos } from '../errors.js';
import { closest, typeName } from '../module/schema.js';
import type { YamlDoc } from '../yaml.js';

export type Dict = Record<string, unknown>;

export const isDict = (v: unknown): v is Dict => v !== null && typeof v === 'object' && !Array.isArray(v);
export const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class Reader {
  constructor(
    readonly doc: YamlDoc,
    readonly problems: Problem[],
  ) {}

  at(node: unknown, key?: string | number): SourcePos {
    return this.doc.pos(node, key);
  }

  add(pos: SourcePos, message: string): void {
    this.problems.push({ pos, message });
  }

  /** Positions of every key of a mapping. */
  keyPos(node: Dict): Record<string, SourcePos> {
    const out: Record<string, SourcePos> = {};
    for (const k of Object.keys(node)) out[k] = this.at(node, k);
    return out;
  }

  /** Reports keys outside `valid`, with a did-you-mean and the valid names. */
  unknownKeys(node: Dict, valid: readonly string[], what: string): void {
    for (const k of Object.keys(node)) {
      if (valid.includes(k)) continue;
      const hint = closest(k, [...valid]);
      this.add(this.at(node, k), `unknown ${what} '${k}'${hint ? ` (did you mean '${hint}'?)` : ''}; valid: ${[...valid].sort().join(', ')}`);
    }
  }

  private bad(node: Dict, key: string, want: string): undefined {
    const v = node[key];
    this.add(this.at(node, key), `${key}: expected ${want}, got ${typeName(v)} ${JSON.stringify(v)}`);
    return undefined;
  }

  bool(node: Dict, key: string): boolean | undefined {
    const v = node[key];
    if (v === undefined || v === null) return undefined;
    return typeof v === 'boolean' ? v : this.bad(node, key, 'a boolean (true/false)');
  }

  str(node: Dict, key: string): string | undefined {
    const v = node[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
    return this.bad(node, key, 'a string');
  }

  num(node: Dict, key: string, min: number, max = Infinity, integer = false): number | undefined {
    const v = node[key];
    if (v === undefined || v === null) return undefined;
    const n = typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || (integer && !Number.isInteger(n))) return this.bad(node, key, integer ? 'an integer' : 'a number');
    if (n < min || n > max) {
      this.add(this.at(node, key), `${key}: must be ${max === Infinity ? `at least ${min}` : `between ${min} and ${max}`}, got ${n}`);
      return undefined;
    }
    return n;
  }

  dict(node: Dict, key: string): Dict | undefined {
    const v = node[key];
    if (v === undefined || v === null) return undefined;
    return isDict(v) ? v : this.bad(node, key, 'a dict');
  }

  list(node: Dict, key: string): unknown[] | undefined {
    const v = node[key];
    if (v === undefined || v === null) return undefined;
    return Array.isArray(v) ? v : this.bad(node, key, 'a list');
  }

  /** A string or a list of strings (tags, notify, listen); `a,b` splits when `split` is set. */
  strList(node: Dict, key: string, split = false): string[] {
    const v = node[key];
    if (v === undefined || v === null) return [];
    if (typeof v === 'string') return split ? v.split(',').map((s) => s.trim()).filter(Boolean) : [v];
    if (typeof v === 'number') return [String(v)];
    if (Array.isArray(v)) {
      const out: string[] = [];
      v.forEach((item, i) => {
        if (typeof item === 'string' || typeof item === 'number') out.push(String(item));
        else this.add(this.at(v, i), `${key}: expected a string, got ${typeName(item)} ${JSON.stringify(item)}`);
      });
      return out;
    }
    this.bad(node, key, 'a string or a list of strings');
    return [];
  }

  /**
   * The position of column `col` (1-based) of a scalar written at `pos`: exact when the scalar
   * sits on one line as written (plain or quoted), else the scalar's own position.
   */
  inside(pos: SourcePos, text: string, col: number, isKey: boolean): SourcePos {
    if (pos.line === undefined || pos.col === undefined) return pos;
    const src = this.doc.source;
    let off = 0;
    for (let l = 1; l < pos.line; l++) off = src.indexOf('\n', off) + 1;
    off += pos.col - 1;
    if (isKey) {
      const colon = src.indexOf(':', off);
      if (colon < 0) return pos;
      off = colon + 1;
      while (src[off] === ' ' || src[off] === '\t') off++;
    }
    if (src[off] === '"' || src[off] === "'") off++;
    if (src.slice(off, off + text.length) !== text) return pos;
    return this.doc.posAt(off + col - 1);
  }
}
