// libvirt's qemu.conf syntax (virConf): `key = value`, `#` comments, strings "…" or '…',
// bare integers, lists [ "a", 1 ] that may span lines. Pure: parse, render, and edit in place.
import { ModuleError } from '../../engine/errors.js';
import { openDepth, parseValue, type ConfValue as QemuValue } from '../lib/conf-values.js';

export { openDepth, parseValue, type QemuValue };


/** A statement of the file: lines [start, end) of the split text. */
interface Span {
  start: number;
  end: number;
}

interface Line {
  text: string;
  /** '\n', '\r\n' or '' (last line without newline). */
  eol: string;
}

export const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.]*$/;

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  const re = /([^\r\n]*)(\r\n|\n|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    if (m[0] === '') break;
    out.push({ text: m[1], eol: m[2] });
  }
  return out;
}

const joinLines = (lines: Line[]): string => lines.map((l) => l.text + l.eol).join('');

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Active statements of `key` (a list may continue on the next lines). */
function findActive(lines: Line[], key: string): Span[] {
  const re = new RegExp(`^\\s*${escapeRe(key)}\\s*=`);
  const spans: Span[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!re.test(lines[i].text)) continue;
    let depth = openDepth(lines[i].text);
    let j = i + 1;
    while (depth > 0 && j < lines.length) depth = openDepth(lines[j++].text, depth);
    spans.push({ start: i, end: j });
    i = j - 1;
  }
  return spans;
}

/** The first commented default, `#key = …` with no space after `#` (prose like `#   user = "qemu"` is not one). */
function findCommented(lines: Line[], key: string): Span | undefined {
  const re = new RegExp(`^#${escapeRe(key)}\\s*=`);
  for (let i = 0; i < lines.length; i++) {
    if (!re.test(lines[i].text)) continue;
    let depth = openDepth(lines[i].text.slice(1));
    let j = i + 1;
    // A commented multi-line list (`#cgroup_device_acl = [` … `#]`) is one default: replace it whole.
    while (depth > 0 && j < lines.length && lines[j].text.startsWith('#')) depth = openDepth(lines[j++].text.slice(1), depth);
    return { start: i, end: depth > 0 ? i + 1 : j };
  }
  return undefined;
}

/** Renders a typed value: strings quoted, integers bare, booleans 1/0, lists [ "a", "b" ]. */
export function renderValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new ModuleError(`qemu.conf has no fractional numbers: ${v}`);
    return String(v);
  }
  if (typeof v === 'string') {
    if (/[\r\n]/.test(v)) throw new ModuleError('a qemu.conf string cannot contain a newline');
    if (!v.includes('"')) return `"${v}"`;
    if (!v.includes("'")) return `'${v}'`;
    throw new ModuleError(`a qemu.conf string cannot hold both ' and ": ${v}`);
  }
  if (Array.isArray(v)) return v.length === 0 ? '[ ]' : `[ ${v.map(renderValue).join(', ')} ]`;
  throw new ModuleError(`a qemu.conf value must be a string, an integer, a boolean or a list, got ${JSON.stringify(v)}`);
}

/** Why a value cannot go into qemu.conf, or undefined when it can. */
export function valueProblem(v: unknown): string | undefined {
  if (Array.isArray(v) && v.some((e) => Array.isArray(e) || typeof e === 'boolean')) return 'list items must be strings or integers';
  try {
    renderValue(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}


export interface ConfEntry {
  /** The value as libvirt reads it; undefined when the text does not parse. */
  value: QemuValue | undefined;
  /** The statement's text, for messages. */
  raw: string;
  /** 1-based line number. */
  line: number;
}

/** Active settings of the file. libvirt takes the first assignment of a key, so that one wins here. */
export function parseConf(text: string): Map<string, ConfEntry> {
  const lines = splitLines(text);
  const out = new Map<string, ConfEntry>();
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=(.*)$/.exec(lines[i].text);
    if (!m) continue;
    let depth = openDepth(m[2]);
    let j = i + 1;
    while (depth > 0 && j < lines.length) depth = openDepth(lines[j++].text, depth);
    const raw = joinLines(lines.slice(i, j)).replace(/\r?\n$/, '');
    if (!out.has(m[1])) out.set(m[1], { value: parseValue(raw.slice(raw.indexOf('=') + 1)), raw, line: i + 1 });
    i = j - 1;
  }
  return out;
}

/** Same value as libvirt sees it (so `'x'` and `"x"`, `true` and `1` are equal). */
export function sameValue(current: QemuValue | undefined, desired: unknown): boolean {
  if (current === undefined) return false;
  return renderValue(current) === renderValue(desired);
}

/**
 * Sets only the named keys: an active line is updated (every one, should the key repeat),
 * else the commented default is replaced in place, else `key = value` is appended.
 * Every other line stays byte-identical; a key already at its value is not touched.
 */
export function setKeys(text: string, settings: Record<string, unknown>): string {
  const lines = splitLines(text);
  const appended: string[] = [];
  for (const [key, desired] of Object.entries(settings)) {
    if (!KEY_RE.test(key)) throw new ModuleError(`invalid qemu.conf key '${key}'`);
    const rendered = `${key} = ${renderValue(desired)}`;
    const active = findActive(lines, key);
    if (active.length > 0) {
      // Back to front, so earlier spans keep their line numbers.
      for (const s of [...active].reverse()) {
        const stmt = joinLines(lines.slice(s.start, s.end));
        if (sameValue(parseValue(stmt.slice(stmt.indexOf('=') + 1)), desired)) continue;
        const indent = /^\s*/.exec(lines[s.start].text)![0];
        const single = s.end - s.start === 1;
        // A trailing comment on a one-line statement is kept.
        const trailing = single ? trailingComment(lines[s.start].text) : '';
        lines.splice(s.start, s.end - s.start, { text: indent + rendered + trailing, eol: lines[s.end - 1].eol });
      }
      continue;
    }
    const commented = findCommented(lines, key);
    if (commented) {
      lines.splice(commented.start, commented.end - commented.start, { text: rendered, eol: lines[commented.end - 1].eol });
      continue;
    }
    appended.push(rendered);
  }
  let out = joinLines(lines);
  if (appended.length > 0) {
    if (out !== '' && !out.endsWith('\n')) out += '\n';
    out += appended.map((l) => l + '\n').join('');
  }
  return out;
}

/** ` # comment` after a one-line value, or ''. */
function trailingComment(line: string): string {
  let quote: string | null = null;
  for (let i = line.indexOf('=') + 1; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') return ' ' + line.slice(i);
  }
  return '';
}
