// A value written into a line-based file (ini, sysctl.d, nftables) must stay on its line: a CR or
// LF inside it would add lines of the caller's choosing (`value: "2\nevil = 1"` sets a second key).

/** A message naming the field when v is a string holding a line break; the value itself is not echoed (it may be a secret). */
export function lineBreakProblem(field: string, v: unknown): string | undefined {
  return typeof v === 'string' && /[\r\n]/.test(v) ? `${field}: must be a single line (it contains a line break, which would add lines to the file)` : undefined;
}

/** lineBreakProblem for a value or each item of a list (`field[i]`), problems only. */
export function lineBreakProblems(field: string, v: unknown): string[] {
  const found = Array.isArray(v) ? v.map((x, i) => lineBreakProblem(`${field}[${i}]`, x)) : [lineBreakProblem(field, v)];
  return found.filter((m): m is string => m !== undefined);
}
