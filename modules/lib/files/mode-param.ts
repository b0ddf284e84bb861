// `mode` as YAML hands it over. Quoted it is a string ('0644', 'u=rw,g=r,o='). Unquoted, js-yaml
// (YAML 1.2) reads 0644 and 644 as the decimal number 644, but 0o644 and 0x1a4 as 420: the number
// alone does not say which was written. An integer is taken as its decimal digits (644 → '0644')
// only when that reading is a plausible mode and the number's own octal value is not; otherwise it
// is refused, so `mode: 0o644` (420, which would read as r---w----) fails instead of being guessed.
import { validMode } from '../../../engine/connection/base-host.js';

export type ModeParam = string | number;

/** No class has write without read, and group/other hold no bit their more privileged class lacks. */
function plausible(mode: number): boolean {
  const [u, g, o] = [(mode >> 6) & 7, (mode >> 3) & 7, mode & 7];
  const writeOnly = (c: number) => (c & 2) !== 0 && (c & 4) === 0;
  return ![u, g, o].some(writeOnly) && (g & ~u) === 0 && (o & ~g) === 0;
}

/** The mode an unquoted integer stands for ('0644'), or undefined when it cannot be trusted. */
export function modeFromInteger(n: number): string | undefined {
  if (!Number.isInteger(n) || n < 0 || n > 7777) return undefined;
  const digits = String(n);
  if (!/^[0-7]+$/.test(digits) || !plausible(parseInt(digits, 8))) return undefined;
  // Both readings make sense (511: 0511, or 0o777): refuse rather than pick one.
  if (n <= 0o7777 && plausible(n)) return undefined;
  return digits.padStart(4, '0');
}

/** Schema check of `mode`: a message, or undefined when it is usable. */
export function modeProblem(v: unknown): string | undefined {
  if (typeof v === 'number') {
    if (modeFromInteger(v) !== undefined) return undefined;
    return `cannot tell which mode the number ${v} means (unquoted, YAML reads 0644 as 644 but 0o644 as 420): quote the mode, e.g. mode: '0644'`;
  }
  if (typeof v !== 'string') return `expected a mode like '0644' or 'u=rw,g=r,o=', got ${JSON.stringify(v)}`;
  try {
    validMode(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The mode as text for the editors: integers as their digits (validated by modeProblem first). */
export function modeText(v: ModeParam | undefined): string | undefined {
  if (typeof v !== 'number') return v;
  const m = modeFromInteger(v);
  if (m === undefined) throw new Error(`mode ${v} was not validated`);
  return m;
}
