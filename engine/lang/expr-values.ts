// Python/Jinja value semantics shared by `when:` expressions and template helpers, so that
// `{{#if (eq a 1)}}` and `when: a == 1` agree: truthiness, equality, ordering, bool/int casts.

/** Python's type names, for messages that read like Ansible's. */
export function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (typeof v === 'string') return 'str';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

/** Python truthiness: None, False, 0, '', [] and {} are false. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v !== 0 && !Number.isNaN(v);
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

const isNum = (v: unknown): v is number | boolean => typeof v === 'number' || typeof v === 'boolean';

/** Python ==: 1 == 1.0 and True == 1, but '1' != 1; lists and dicts compare deeply. */
export function pyEquals(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (isNum(a) && isNum(b)) return Number(a) === Number(b);
  if (a === null || b === null) return a === b;
  if (typeof a === 'string' || typeof b === 'string') return a === b;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => pyEquals(x, b[i]));
  }
  if (typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    if (ka.length !== kb.length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && pyEquals((a as any)[k], (b as any)[k]));
  }
  return false;
}

/** Python ordering: numbers with numbers, strings with strings, lists element-wise; else a TypeError. */
export function pyCompare(a: unknown, b: unknown): number {
  if (isNum(a) && isNum(b)) return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return a < b ? -1 : a > b ? 1 : 0;
  if (Array.isArray(a) && Array.isArray(b)) {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      if (!pyEquals(a[i], b[i])) return pyCompare(a[i], b[i]);
    }
    return a.length - b.length;
  }
  throw new TypeError(`cannot compare ${pyType(a)} with ${pyType(b)}`);
}

/** Python `in`: list membership, substring, dict key. */
export function pyContains(haystack: unknown, needle: unknown): boolean {
  if (typeof haystack === 'string') {
    if (typeof needle !== 'string') throw new TypeError(`'in <string>' requires a string on the left, got ${pyType(needle)}`);
    return haystack.includes(needle);
  }
  if (Array.isArray(haystack)) return haystack.some((x) => pyEquals(x, needle));
  if (haystack !== null && typeof haystack === 'object') return Object.prototype.hasOwnProperty.call(haystack, String(needle));
  throw new TypeError(`argument of type '${pyType(haystack)}' is not iterable`);
}

/** Ansible's `| bool`: yes/on/true/1 (any case) are true, everything else false. */
export function toBool(v: unknown): boolean {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1;
  if (typeof v === 'string') return ['yes', 'on', '1', 'true', 'y', 't'].includes(v.trim().toLowerCase());
  return false;
}

/** Jinja's `| int`: '12' → 12, '3.7' → 3, unparsable → the default (0). */
export function toInt(v: unknown, fallback = 0): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return Number.isFinite(v) ? Math.trunc(v) : fallback;
  if (typeof v === 'string') {
    const s = v.trim().replace(/_/g, '');
    if (/^[+-]?\d+$/.test(s)) return Number(s);
    if (/^0x[0-9a-f]+$/i.test(s)) return parseInt(s, 16);
    const f = Number(s);
    return s !== '' && Number.isFinite(f) ? Math.trunc(f) : fallback;
  }
  return fallback;
}

export function toFloat(v: unknown, fallback = 0): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return fallback;
}

/** Python's str(): True/False/None like Ansible prints them; containers as JSON. */
export function pyStr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return JSON.stringify(v);
}

/** len(): strings, lists, dicts. */
export function pyLen(v: unknown): number {
  if (typeof v === 'string' || Array.isArray(v)) return v.length;
  if (v !== null && typeof v === 'object') return Object.keys(v).length;
  throw new TypeError(`object of type '${pyType(v)}' has no len()`);
}

/** Own properties only: prototype members (constructor, __proto__) are never reachable. */
export function getMember(obj: unknown, key: string | number): { found: boolean; value?: unknown } {
  if (obj === null || typeof obj !== 'object') {
    if (typeof obj === 'string' && typeof key === 'number') {
      const i = key < 0 ? obj.length + key : key;
      return i >= 0 && i < obj.length ? { found: true, value: obj[i] } : { found: false };
    }
    return { found: false };
  }
  if (Array.isArray(obj)) {
    const n = typeof key === 'number' ? key : /^-?\d+$/.test(key) ? Number(key) : NaN;
    if (!Number.isInteger(n)) return { found: false };
    const i = n < 0 ? obj.length + n : n;
    return i >= 0 && i < obj.length ? { found: true, value: obj[i] } : { found: false };
  }
  const k = String(key);
  if (!Object.prototype.hasOwnProperty.call(obj, k)) return { found: false };
  return { found: true, value: (obj as Record<string, unknown>)[k] };
}
