// YAML loading that remembers where every mapping key and list item came from,
// so any later problem can be reported as file:line:col.
import yaml from 'js-yaml';
import { readFileSync } from 'node:fs';
import { ValidationError, type SourcePos } from './errors.js';

// Ansible reads YAML 1.1: yes/no/on/off are booleans there, and operators write them.
const yaml11Bool = new yaml.Type('tag:yaml.org,2002:bool', {
  kind: 'scalar',
  resolve: (s: string) => /^(?:y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/.test(s) && !/^[yYnN]$/.test(s),
  construct: (s: string) => /^(?:yes|true|on)$/i.test(s),
  predicate: (v: unknown) => typeof v === 'boolean',
  represent: { lowercase: (v: object) => (v ? 'true' : 'false') },
  defaultStyle: 'lowercase',
});
export const PLAY_YAML_SCHEMA = yaml.DEFAULT_SCHEMA.extend({ implicit: [yaml11Bool] });

/** Bigger files are refused before parsing: no playbook, inventory or vars file comes near it. */
export const MAX_YAML_BYTES = 32 * 1024 * 1024;
/** Deeper nesting is refused while reading: js-yaml (and every walk after it) recurses per level. */
export const MAX_YAML_DEPTH = 500;

/**
 * Aliases share one node, so "billion laughs" loads fast and explodes in whatever walks the data
 * later. Kubernetes' cap (go-yaml's allowedAliasRatio): nodes reached through aliases may be up to
 * 99% of the expanded document while it has under 400,000 nodes, sliding to 10% at 4,000,000.
 */
export function aliasRatioAllowed(expanded: number): number {
  if (expanded <= 400_000) return 0.99;
  if (expanded >= 4_000_000) return 0.1;
  return 0.99 - (0.89 * (expanded - 400_000)) / 3_600_000;
}

/** Counts the expanded document while js-yaml reads it; throws at the alias that goes too far. */
class AliasBudget {
  private readonly sizes = new WeakMap<object, number>();
  expanded = 0;
  viaAlias = 0;

  /** The expanded size of a node that just closed; `childSizes` are its children's. */
  close(result: unknown, childSizes: number[]): { size: number; alias: boolean } {
    const known = result !== null && typeof result === 'object' ? this.sizes.get(result) : undefined;
    if (known !== undefined) {
      this.expanded += known;
      this.viaAlias += known;
      return { size: known, alias: true };
    }
    const size = 1 + childSizes.reduce((a, b) => a + b, 0);
    if (result !== null && typeof result === 'object') this.sizes.set(result, size);
    this.expanded += 1;
    return { size, alias: false };
  }

  get tooMuch(): boolean {
    return this.viaAlias > 100 && this.expanded > 1000 && this.viaAlias / this.expanded > aliasRatioAllowed(this.expanded);
  }
}

const UNQUOTED_TEMPLATE = /:\s*\{\{/;
const QUOTE_HINT = 'quote a value that starts with {{ (msg: "{{ x }}"), as in Ansible';

/** Thrown from js-yaml's listener to stop reading; turned into a positioned ValidationError. */
class AliasBombSignal extends Error {}
class TooDeepSignal extends Error {}

export class YamlDoc {
  private readonly lineStarts: number[];
  private readonly nodeStart = new WeakMap<object, number>();
  private readonly keyStart = new WeakMap<object, Map<string, number>>();
  private readonly itemStart = new WeakMap<object, number[]>();
  data: unknown;

  constructor(readonly file: string, readonly source: string) {
    this.lineStarts = [0];
    for (let i = 0; i < source.length; i++) if (source.charCodeAt(i) === 10) this.lineStarts.push(i + 1);
    const stack: Array<{ start: number; children: Array<{ start: number; result: unknown; size: number }> }> = [];
    const budget = new AliasBudget();
    let stopAt: number | undefined;
    if (Buffer.byteLength(source) > MAX_YAML_BYTES) {
      throw new ValidationError([{ pos: { file }, message: `file too large for a YAML document: ${Buffer.byteLength(source)} bytes, the limit is ${MAX_YAML_BYTES}` }]);
    }
    try {
      this.data = yaml.load(source, {
        filename: file,
        schema: PLAY_YAML_SCHEMA,
        listener: (event, state) => {
          if (event === 'open') {
            stack.push({ start: state.position, children: [] });
            if (stack.length > MAX_YAML_DEPTH) {
              stopAt = state.position;
              throw new TooDeepSignal();
            }
            return;
          }
          const frame = stack.pop();
          if (!frame) return;
          const start = this.skipBlank(frame.start);
          const { size, alias } = budget.close(state.result, frame.children.map((c) => c.size));
          if (alias && budget.tooMuch) {
            stopAt = start;
            throw new AliasBombSignal();
          }
          const node = { start, result: state.result as unknown, size };
          this.record(node.start, node.result, frame.children);
          stack[stack.length - 1]?.children.push(node);
        },
      });
    } catch (e) {
      if (e instanceof TooDeepSignal) {
        throw new ValidationError([{ pos: this.posAt(stopAt), message: `YAML nested more than ${MAX_YAML_DEPTH} levels deep: refused` }]);
      }
      if (e instanceof AliasBombSignal) {
        const message = `YAML aliases expand this document to over ${budget.expanded} nodes, ${budget.viaAlias} of them through aliases (an alias bomb?): refused, as Kubernetes does; write the data out or use fewer nested aliases`;
        throw new ValidationError([{ pos: this.posAt(stopAt), message }]);
      }
      if (e instanceof yaml.YAMLException) {
        const m = e.mark;
        const line = m ? (source.split('\n')[m.line] ?? '') : '';
        throw new ValidationError([
          { pos: { file, line: m ? m.line + 1 : undefined, col: m ? m.column + 1 : undefined }, message: `YAML syntax error: ${e.reason}${UNQUOTED_TEMPLATE.test(line) ? `; ${QUOTE_HINT}` : ''}` },
        ]);
      }
      throw e;
    }
    const unquoted = this.unquotedTemplate(this.data);
    if (unquoted) throw new ValidationError([{ pos: this.pos(unquoted), message: `a value starting with {{ was read as a YAML mapping: ${QUOTE_HINT}` }]);
  }

  /** `msg: {{x}}` unquoted is YAML's flow mapping {{x: null}: null}, whose key reads "[object Object]". */
  private unquotedTemplate(v: unknown): object | undefined {
    if (v === null || typeof v !== 'object') return undefined;
    if (!Array.isArray(v) && Object.prototype.hasOwnProperty.call(v, '[object Object]')) return v;
    for (const x of Object.values(v)) {
      const found = this.unquotedTemplate(x);
      if (found) return found;
    }
    return undefined;
  }

  static load(file: string, display = file): YamlDoc {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new ValidationError([{ pos: { file: display }, message: `cannot read file: ${(e as NodeJS.ErrnoException).code ?? String(e)}` }]);
    }
    return new YamlDoc(display, text);
  }

  private skipBlank(offset: number): number {
    const s = this.source;
    let i = offset;
    for (;;) {
      while (i < s.length && (s[i] === ' ' || s[i] === '\t' || s[i] === '\n' || s[i] === '\r')) i++;
      if (s[i] === '#') {
        while (i < s.length && s[i] !== '\n') i++;
        continue;
      }
      return i;
    }
  }

  private record(start: number, result: unknown, children: Array<{ start: number; result: unknown }>): void {
    if (result === null || typeof result !== 'object') return;
    if (this.nodeStart.has(result)) return; // aliases point at an already-placed node
    this.nodeStart.set(result, start);
    if (Array.isArray(result)) {
      this.itemStart.set(result, children.map((c) => c.start));
    } else {
      const keys = new Map<string, number>();
      for (let i = 0; i + 1 < children.length; i += 2) keys.set(String(children[i].result), children[i].start);
      // A key whose value is empty produces a single child; fall back to scanning the text.
      if (children.length % 2 === 1) keys.set(String(children[children.length - 1].result), children[children.length - 1].start);
      this.keyStart.set(result, keys);
    }
  }

  posAt(offset: number | undefined): SourcePos {
    if (offset === undefined) return { file: this.file };
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { file: this.file, line: lo + 1, col: offset - this.lineStarts[lo] + 1 };
  }

  /** Where a mapping's key, a list's item, or the node itself starts. */
  pos(node: unknown, key?: string | number): SourcePos {
    if (node === null || typeof node !== 'object') return { file: this.file };
    if (key !== undefined) {
      if (Array.isArray(node)) {
        const at = this.itemStart.get(node)?.[Number(key)];
        if (at !== undefined) return this.posAt(at);
      } else {
        const at = this.keyStart.get(node)?.get(String(key));
        if (at !== undefined) return this.posAt(at);
      }
    }
    return this.posAt(this.nodeStart.get(node));
  }

  /** Position of the deepest node along a path of keys, e.g. ['settings', 'net.core.rmem_max']. */
  posPath(node: unknown, path: Array<string | number>): SourcePos {
    let cur: unknown = node;
    let best = this.pos(node);
    for (const k of path) {
      if (cur === null || typeof cur !== 'object') break;
      const p = this.pos(cur, k);
      if (p.line !== undefined) best = p;
      cur = (cur as Record<string, unknown>)[k as string];
    }
    return best;
  }
}

/** Parses a YAML string with the same schema (for -e values, inline data). */
export function parseYaml(text: string, file = '<string>'): unknown {
  return new YamlDoc(file, text).data;
}
