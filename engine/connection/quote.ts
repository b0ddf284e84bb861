// The one helper that quotes values for a remote POSIX sh (dash, not bash).
import { PlayError } from '../errors.js';

/** Quote one word for POSIX sh: single quotes, with embedded ' written as '\''. */
export function shQuote(value: string | number): string {
  const s = String(value);
  // Parameters are refused at validation; this guards values from elsewhere (facts, files) and
  // fails the task like any user mistake, so ignore_errors and rescue still apply.
  if (s.includes('\0')) throw new PlayError('a shell argument cannot contain a NUL byte (\\0)');
  if (s !== '' && /^[A-Za-z0-9_\/.,:=@%+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Build a command line from words, quoting each one. */
export function shJoin(words: Array<string | number>): string {
  return words.map(shQuote).join(' ');
}

/**
 * Tagged template: interpolated values are quoted, the literal parts are trusted.
 *   sh`ip link set dev ${iface} mtu ${mtu}`
 * Arrays interpolate as several quoted words.
 */
export function sh(strings: TemplateStringsArray, ...values: Array<string | number | Array<string | number>>): string {
  let out = strings[0];
  values.forEach((v, i) => {
    out += Array.isArray(v) ? shJoin(v) : shQuote(v);
    out += strings[i + 1];
  });
  return out;
}
