// A value written into a line-based file (ini, sysctl.d, nftables) must stay on its line: a CR or
// LF inside it would add lines of the caller's choosing (`value: "2\nevil = 1"` sets a second key).
import { paramProblem, type ParamProblem } from '../../../engine/module/contract.js';

/** A message naming the field when v is a string holding a line break; the value itself is not echoed (it may be a secret). */
export function lineBreakProblem(field: string, v: unknown): ParamProblem | undefined {
  return typeof v === 'string' && /[\r\n]/.test(v) ? paramProblem(field, 'must be a single line (it contains a line break, which would add lines to the file)') : undefined;
}

/**
 * Line breaks, then any other control character but tab (ESC, form feed, DEL…): an ini or sysctl.d
 * value is text on one line, and a reader splitting lines the Python way breaks on \v and \f too.
 */
export function controlCharProblem(field: string, v: unknown): ParamProblem | undefined {
  const lb = lineBreakProblem(field, v);
  if (lb || typeof v !== 'string') return lb;
  const m = /[\x00-\x08\x0b-\x1f\x7f]/.exec(v);
  if (!m) return undefined;
  const code = `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
  return paramProblem(field, `must be plain text on one line (character ${m.index + 1} is the control character ${code})`);
}

/** lineBreakProblem for a value or each item of a list (`field.i`), problems only. */
export function lineBreakProblems(field: string, v: unknown): ParamProblem[] {
  const found = Array.isArray(v) ? v.map((x, i) => lineBreakProblem(`${field}.${i}`, x)) : [lineBreakProblem(field, v)];
  return found.filter((m): m is ParamProblem => m !== undefined);
}
