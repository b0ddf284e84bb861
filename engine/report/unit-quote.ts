// Quoting for the two places a schedule puts values: systemd's ExecStart and a cron line for sh.
import { PlayError } from '../errors.js';
import { shQuote } from '../connection/quote.js';

/** Values in units and crontabs stay on one line and free of control characters. */
export function assertPrintable(what: string, value: string): void {
  if (/[\u0000-\u001f\u007f]/.test(value)) throw new PlayError(`${what} contains a control character (newline, tab, ...): ${JSON.stringify(value)}`);
}

const SYSTEMD_PLAIN = /^[A-Za-z0-9_\/.,:=+-]+$/;

/**
 * One word of a systemd command line (systemd.service "Command lines"): double quotes, C-style
 * escapes for \ and ", `%%` for a literal % (specifiers) and `$$` for a literal $ (variables).
 */
export function systemdQuote(value: string): string {
  assertPrintable('a systemd command argument', value);
  if (SYSTEMD_PLAIN.test(value)) return value;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

export const systemdJoin = (words: string[]): string => words.map(systemdQuote).join(' ');

/** A path setting such as WorkingDirectory=: not split on spaces, but specifiers still apply. */
export function systemdPath(value: string): string {
  assertPrintable('a systemd path', value);
  return value.replace(/%/g, '%%');
}

/** A command for a crontab line: words quoted for sh, then % escaped (cron turns a bare % into a newline). */
export function cronCommand(words: string[]): string {
  for (const w of words) assertPrintable('a cron command argument', w);
  return words.map((w) => shQuote(w).replace(/%/g, '\\%')).join(' ');
}
