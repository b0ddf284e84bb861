// Parameter schemas: one declaration validates task parameters, fills defaults and
// generates `play modules NAME` docs. All problems are reported, not the first.

export type ParamType = 'str' | 'int' | 'num' | 'bool' | 'list' | 'dict' | 'raw';

export interface ParamSpec {
  type: ParamType;
  description: string;
  required?: boolean;
  default?: unknown;
  choices?: readonly (string | number | boolean)[];
  /** Element spec of a list. */
  elements?: ParamSpec;
  /** Spec of every value of a free-form dict (e.g. sysctl settings). */
  values?: ParamSpec;
  /** Fixed sub-options of a dict (e.g. ethtool rings: rx, tx). */
  options?: ParamSchema;
  aliases?: string[];
  /** Extra check on a (coerced) value; returns a message or undefined. */
  check?: (value: any) => string | undefined;
  /** Never printed, logged or written to reports (Ansible's no_log). */
  secret?: boolean;
  /** May hold any byte, NUL included: it reaches the host as stdin data, never as a shell word. */
  anyBytes?: boolean;
}

export type ParamSchema = Record<string, ParamSpec>;

export interface SchemaProblem {
  /** Dotted path below the module key, e.g. `settings.net.core.rmem_max` or `rings.rx`. */
  path: string[];
  message: string;
}

const TRUE = new Set(['yes', 'on', 'true', '1', 'y', 't']);
const FALSE = new Set(['no', 'off', 'false', '0', 'n', 'f']);

/** A boolean written as a word or number (yes/no, on/off, true/false, 1/0 …), else undefined. */
export function boolWord(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number' && (v === 0 || v === 1)) return v === 1;
  if (typeof v !== 'string') return undefined;
  const w = v.trim().toLowerCase();
  return TRUE.has(w) ? true : FALSE.has(w) ? false : undefined;
}

/** A string still holding a template is checked after rendering, not before. */
export function isTemplated(v: unknown): boolean {
  return typeof v === 'string' && v.includes('{{');
}

/** A value with a template anywhere inside: strings, list items, dict keys and values. */
export function hasTemplate(v: unknown): boolean {
  if (isTemplated(v)) return true;
  if (Array.isArray(v)) return v.some(hasTemplate);
  if (v !== null && typeof v === 'object') return Object.entries(v).some(([k, x]) => isTemplated(k) || hasTemplate(x));
  return false;
}

export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'dict';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'boolean') return 'bool';
  return 'str';
}

/** Where a NUL byte sits in a value (strings, list items, dict keys and values), if anywhere. */
function nulPath(v: unknown, path: string[]): string[] | undefined {
  if (typeof v === 'string') return v.includes('\0') ? path : undefined;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const found = nulPath(v[i], [...path, String(i)]);
      if (found) return found;
    }
  } else if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const found = k.includes('\0') ? [...path, JSON.stringify(k)] : nulPath(x, [...path, k]);
      if (found) return found;
    }
  }
  return undefined;
}

function coerce(spec: ParamSpec, v: unknown, path: string[], problems: SchemaProblem[], deferTemplates: boolean): unknown {
  // Before the template check: a NUL stays a NUL after rendering. No command, argument or file
  // line can carry one (the remote shell would cut the value there).
  const nul = spec.anyBytes ? undefined : nulPath(v, path);
  if (nul) {
    problems.push({ path: nul, message: 'contains a NUL byte (\\0): no command, argument or file can hold one' });
    return v;
  }
  if (deferTemplates && isTemplated(v)) return v;
  const bad = (what: string) => {
    problems.push({ path, message: `expected ${what}, got ${typeName(v)} ${JSON.stringify(v)}` });
    return v;
  };
  let out: unknown = v;
  switch (spec.type) {
    case 'raw':
      break;
    case 'str':
      if (typeof v === 'string') out = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out = String(v);
      else return bad('a string');
      break;
    case 'int':
      if (typeof v === 'number' && Number.isInteger(v)) out = v;
      else if (typeof v === 'string' && /^-?\d+$/.test(v.trim())) out = Number(v.trim());
      else return bad('an integer');
      break;
    case 'num':
      if (typeof v === 'number') out = v;
      else if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) out = Number(v);
      else return bad('a number');
      break;
    case 'bool':
      if (boolWord(v) === undefined) return bad('a boolean (true/false)');
      out = boolWord(v);
      break;
    case 'list': {
      const arr = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : null;
      if (!arr) return bad('a list');
      out = spec.elements ? arr.map((e, i) => coerce(spec.elements!, e, [...path, String(i)], problems, deferTemplates)) : arr;
      break;
    }
    case 'dict': {
      if (v === null || typeof v !== 'object' || Array.isArray(v)) return bad('a dict');
      if (spec.options) {
        out = validateParams(spec.options, v as Record<string, unknown>, problems, path, deferTemplates);
      } else if (spec.values) {
        const o: Record<string, unknown> = {};
        for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
          o[k] = coerce(spec.values, val, [...path, k], problems, deferTemplates);
        }
        out = o;
      }
      break;
    }
  }
  if (spec.choices && !(deferTemplates && isTemplated(out)) && !spec.choices.includes(out as never)) {
    problems.push({ path, message: `must be one of ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(out)}` });
  } else if (spec.check) {
    const msg = spec.check(out);
    if (msg) problems.push({ path, message: msg });
  }
  return out;
}

/**
 * Validates and coerces parameters; returns them with defaults filled.
 * With deferTemplates, strings that still contain `{{` are left for the run-time check.
 */
export function validateParams(
  schema: ParamSchema,
  raw: Record<string, unknown> | null | undefined,
  problems: SchemaProblem[],
  base: string[] = [],
  deferTemplates = false,
): Record<string, unknown> {
  const input = raw ?? {};
  const out: Record<string, unknown> = {};
  const alias = new Map<string, string>();
  for (const [name, spec] of Object.entries(schema)) for (const a of spec.aliases ?? []) alias.set(a, name);
  for (const [key, value] of Object.entries(input)) {
    const name = schema[key] ? key : alias.get(key);
    if (!name) {
      const valid = Object.keys(schema).sort().join(', ');
      const hint = closest(key, Object.keys(schema));
      problems.push({
        path: [...base, key],
        message: `unknown parameter '${key}'${hint ? ` (did you mean '${hint}'?)` : ''}; valid parameters: ${valid}`,
      });
      continue;
    }
    if (value === null || value === undefined) continue; // `key:` with nothing means "not set"
    out[name] = coerce(schema[name], value, [...base, key], problems, deferTemplates);
  }
  for (const [name, spec] of Object.entries(schema)) {
    if (out[name] !== undefined) continue;
    if (spec.required) problems.push({ path: [...base, name], message: `missing required parameter '${name}'` });
    else if (spec.default !== undefined) out[name] = structuredClone(spec.default);
  }
  return out;
}

/** The nearest name within edit distance 2, to suggest a fix for a typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i][j] = Math.min(dp[i - 1][j] + 1, dp[i][j - 1] + 1, dp[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length][b.length];
}

/** Text for `play modules NAME`: parameters, types, defaults, choices. */
export function describeSchema(schema: ParamSchema, indent = '  '): string {
  const lines: string[] = [];
  for (const [name, spec] of Object.entries(schema)) {
    const bits: string[] = [spec.type];
    if (spec.required) bits.push('required');
    if (spec.default !== undefined) bits.push(`default: ${JSON.stringify(spec.default)}`);
    if (spec.choices) bits.push(`choices: ${spec.choices.map((c) => JSON.stringify(c)).join(', ')}`);
    if (spec.aliases?.length) bits.push(`aliases: ${spec.aliases.join(', ')}`);
    lines.push(`${indent}${name} (${bits.join('; ')})`);
    lines.push(`${indent}    ${spec.description}`);
    if (spec.options) lines.push(describeSchema(spec.options, indent + '    '));
  }
  return lines.join('\n');
}
