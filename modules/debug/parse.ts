// Pure parts of debug: looking up `var: a.b[0]` in the variables, and printing a value.

/** Path words of `a.b[0]['c d']`; undefined when it is not a plain path. */
export function varPath(expr: string): Array<string | number> | undefined {
  const s = expr.trim();
  const re = /^(?:\.?([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]|\['([^']*)'\]|\["([^"]*)"\])/;
  const out: Array<string | number> = [];
  let rest = s;
  if (!/^[A-Za-z_]/.test(rest)) return undefined;
  while (rest.length) {
    const m = re.exec(rest);
    if (!m) return undefined;
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (m[3] ?? m[4])));
    rest = rest.slice(m[0].length);
  }
  return out;
}

export const UNDEFINED = Symbol('undefined');

export function lookupVar(vars: Record<string, unknown>, expr: string): unknown {
  const path = varPath(expr);
  if (!path) return UNDEFINED;
  let cur: unknown = vars;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, k)) return UNDEFINED;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** Strings as they are; anything else as indented JSON. */
export function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v, null, 2) ?? String(v);
}
