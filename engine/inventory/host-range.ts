// Host names as Ansible reads them: an optional :port (parse_address) and [a:b], [01:20:2], [a:z]
// ranges expanded left to right (expand_hostname_range), with Ansible's error messages.
import type { Problem, SourcePos } from '../errors.js';

const NUMERIC_RANGE = String.raw`\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const HEX_RANGE = String.raw`\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`;
const ALNUM_RANGE = String.raw`\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`;
const I4 = String.raw`(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|${NUMERIC_RANGE})`;
const I6 = String.raw`(?:[0-9a-f]{1,4}|${HEX_RANGE})`;
const LABEL = String.raw`(?:[\p{L}\p{N}_]|${ALNUM_RANGE})(?:[\p{L}\p{N}_-]|${ALNUM_RANGE})*(?<![_-])`;

const BRACKETED_HOSTPORT = /^\[(.+)\]:([0-9]+)$/;
const HOSTPORT = /^((?:[^:[\]]|\[[^\]]*\])*):([0-9]+)$/;
const IPV4 = new RegExp(String.raw`^(?:${I4}\.){3}${I4}$`, 'i');
const IPV6 = new RegExp(
  '^(?:' +
    [
      `(?:${I6}:){7}${I6}`,
      `(?:${I6}:){1,6}:`,
      `(?:${I6}:)(?::${I6}){1,6}`,
      `(?:${I6}:){2}(?::${I6}){1,5}`,
      `(?:${I6}:){3}(?::${I6}){1,4}`,
      `(?:${I6}:){4}(?::${I6}){1,3}`,
      `(?:${I6}:){5}(?::${I6}){1,2}`,
      `(?:${I6}:){6}(?::${I6})`,
      `:(?::${I6}){1,6}`,
      `${I6}?::`,
      String.raw`(?:0:){6}(?:${I6}\.){3}${I6}`,
      String.raw`::(?:ffff:)?(?:${I6}\.){3}${I6}`,
      String.raw`(?:0:){5}ffff:(?:${I6}\.){3}${I6}`,
    ].join('|') +
    ')$',
  'i',
);
const HOSTNAME = new RegExp(String.raw`^${LABEL}(?:\.${LABEL})*$`, 'iu');

export function isIpAddress(name: string): boolean {
  return IPV4.test(name) || IPV6.test(name);
}

/** parse_address(allow_ranges=True): undefined when it is not a host[:port] at all. */
export function parseAddress(address: string): { host: string; port?: number } | undefined {
  let host = address;
  let port: number | undefined;
  for (const re of [BRACKETED_HOSTPORT, HOSTPORT]) {
    const m = re.exec(host);
    if (m) {
      host = m[1];
      port = Number(m[2]);
    }
  }
  if (IPV4.test(host) || IPV6.test(host) || HOSTNAME.test(host)) return { host, port };
  return undefined;
}

export class HostRangeError extends Error {}

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

function expandRange(line: string, out: string[], limit: number): void {
  const open = line.indexOf('[');
  const close = line.indexOf(']');
  if (close < 0 || close < open) throw new HostRangeError(`host range in '${line}' is not closed with ']'`);
  const head = line.slice(0, open);
  const nrange = line.slice(open + 1, close);
  const tail = line.slice(close + 1);
  const bounds = nrange.split(':');
  if (bounds.length !== 2 && bounds.length !== 3) throw new HostRangeError('host range must be begin:end or begin:end:step');
  const beg = bounds[0] || '0';
  const end = bounds[1];
  const stepText = bounds.length === 3 ? bounds[2] : '1';
  if (!end) throw new HostRangeError('host range must specify end value');
  if (!/^\s*[+-]?\d+\s*$/.test(stepText)) throw new HostRangeError(`host range step must be a number, got '${stepText}'`);
  const step = Number(stepText);
  if (step === 0) throw new HostRangeError('host range step must not be zero');
  let fill = (x: number | string): string => String(x);
  if (beg[0] === '0' && beg.length > 1) {
    if (beg.length !== end.length) throw new HostRangeError('host range must specify equal-length begin and end formats');
    fill = (x) => String(x).padStart(beg.length, '0');
  }
  const seq: Array<number | string> = [];
  const iBeg = LETTERS.indexOf(beg);
  const iEnd = LETTERS.indexOf(end);
  if (iBeg >= 0 && iEnd >= 0) {
    if (iBeg > iEnd) throw new HostRangeError('host range must have begin <= end');
    if (step < 0) throw new HostRangeError('host range step must be positive');
    for (let k = iBeg; k <= iEnd; k += step) seq.push(LETTERS[k]);
  } else {
    if (!/^\s*[+-]?\d+\s*$/.test(beg) || !/^\s*[+-]?\d+\s*$/.test(end)) throw new HostRangeError(`host range [${nrange}] must be numbers or single letters`);
    const b = Number(beg);
    const e = Number(end) + 1;
    if (step > 0) for (let k = b; k < e; k += step) seq.push(k);
    else for (let k = b; k > e; k += step) seq.push(k);
  }
  for (const v of seq) {
    const name = head + fill(v) + tail;
    if (name.includes('[')) expandRange(name, out, limit);
    else out.push(name);
    if (out.length > limit) throw new HostRangeError(`host range expands to more than ${limit} hosts`);
  }
}

/** Ansible's _expand_hostpattern: host names and the port that applies to all of them. */
export function expandHostPattern(pattern: string, limit = 1_000_000): { hosts: string[]; port?: number } {
  const parsed = parseAddress(pattern);
  const base = parsed ? parsed.host : pattern;
  if (!base.includes('[')) return { hosts: [base], port: parsed?.port };
  const hosts: string[] = [];
  expandRange(base, hosts, limit);
  return { hosts, port: parsed?.port };
}

/** expandHostPattern for the readers: a bad range becomes a problem at `pos`, not an exception. */
export function expandOrReport(pattern: string, problems: Problem[], pos: SourcePos): { hosts: string[]; port?: number } | undefined {
  try {
    return expandHostPattern(pattern);
  } catch (e) {
    if (!(e instanceof HostRangeError)) throw e;
    problems.push({ pos, message: `host '${pattern}': ${e.message}` });
    return undefined;
  }
}
