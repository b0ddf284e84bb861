// A byte-preserving editor for `key = value` files, with or without [sections]
// (qemu.conf, libvirtd.conf, systemd's *.conf, classic .ini). Only the named keys are
// touched; every other byte (comments, blank lines, line endings, final newline) stays.
// A value that opens a `[` list (qemu.conf's cgroup_device_acl = [ … ]) runs on until its
// brackets balance, so a key's continuation lines are replaced and removed with it.
import { openDepth, parseValue } from '../lib/conf-values.js';

export interface IniEditOptions {
  /** The section to edit; null/undefined: the lines before the first [section] (the whole file when there is none). */
  section?: string | null;
  /**
   * New lines as `key=value` (true) or `key = value` (false). Unset: follow the file — a
   * commented default keeps its own spacing, an appended line copies the first active one.
   */
  noExtraSpaces?: boolean;
}

export interface IniChange {
  key: string;
  /** Value before; undefined = the key was not set. */
  from?: string;
  /** Value after; undefined = removed. */
  to?: string;
}

interface Line {
  body: string;
  /** '\n', '\r\n', or '' for a last line without newline. */
  eol: string;
}

interface Active {
  indent: string;
  key: string;
  /** Everything from the end of the key to the start of the value, e.g. ' = '. */
  sep: string;
  value: string;
  trail: string;
}

const HEADER = /^\s*\[([^\]]*)\]\s*(?:[#;].*)?$/;
const ACTIVE = /^(\s*)([^#;=\s[][^=]*?)(\s*=\s*)(.*?)(\s*)$/;

function splitLines(text: string): Line[] {
  const out: Line[] = [];
  let i = 0;
  while (i < text.length) {
    const nl = text.indexOf('\n', i);
    if (nl < 0) {
      out.push({ body: text.slice(i), eol: '' });
      break;
    }
    const cr = nl > i && text[nl - 1] === '\r';
    out.push({ body: text.slice(i, cr ? nl - 1 : nl), eol: cr ? '\r\n' : '\n' });
    i = nl + 1;
  }
  return out;
}

const joinLines = (lines: Line[]) => lines.map((l) => l.body + l.eol).join('');

/** Lines for a body that may hold newlines (a multi-line value): inner ones get the file's eol. */
function toLines(body: string, eol: string, lastEol: string): Line[] {
  const parts = body.split('\n');
  return parts.map((b, i) => ({ body: b, eol: i === parts.length - 1 ? lastEol : eol }));
}

export function parseActive(body: string): Active | undefined {
  if (HEADER.test(body)) return undefined;
  const m = ACTIVE.exec(body);
  return m ? { indent: m[1], key: m[2], sep: m[3], value: m[4], trail: m[5] } : undefined;
}

/** An active key with the lines [start, end) it spans; value holds inner newlines as '\n'. */
interface Entry extends Active {
  start: number;
  end: number;
}

/** The active key at line i with its continuation lines; an unclosed list is its first line alone. */
function entryAt(lines: Line[], i: number): Entry | undefined {
  const a = parseActive(lines[i].body);
  if (!a) return undefined;
  let depth = a.value.startsWith('[') ? openDepth(a.value) : 0;
  for (let j = i + 1; depth > 0 && j < lines.length && !HEADER.test(lines[j].body); j++) {
    depth = openDepth(lines[j].body, depth);
    if (depth > 0) continue;
    const rest = lines.slice(i + 1, j + 1).map((l) => l.body);
    const last = rest.pop()!;
    const trail = /\s*$/.exec(last)![0];
    const value = [a.value + a.trail, ...rest, last.slice(0, last.length - trail.length)].join('\n');
    return { ...a, value, trail, start: i, end: j + 1 };
  }
  return { ...a, start: i, end: i + 1 };
}

/** The active keys of the lines [s, e), continuation lines skipped. */
function entries(lines: Line[], s: number, e: number): Entry[] {
  const out: Entry[] = [];
  for (let i = s; i < e; i++) {
    const en = entryAt(lines, i);
    if (!en) continue;
    out.push(en);
    i = en.end - 1;
  }
  return out;
}

/** Equal values; in a qemu.conf-like file also the same string or list written another way. */
function sameValue(have: string, want: string, confLike: boolean): boolean {
  if (have === want) return true;
  if (!confLike) return false;
  // Shell-style files (/etc/default/*) read $, ` and \ differently inside '…' and "…".
  if (/[$`\\]/.test(have + want)) return false;
  const h = parseValue(have);
  const w = parseValue(want);
  // A bare number is not a quoted string: `1` and `"1"` stay different.
  if (h === undefined || typeof h === 'number' || typeof w === 'number') return false;
  return JSON.stringify(h) === JSON.stringify(w);
}

/** Line index ranges [start, end) of a section (every occurrence of its header). */
function sectionRanges(lines: Line[], section: string | null): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let cur: string | null = null;
  let start = 0;
  lines.forEach((l, i) => {
    const h = HEADER.exec(l.body);
    if (!h) return;
    if (cur === section) ranges.push([start, i]);
    cur = h[1].trim();
    start = i + 1;
  });
  if (cur === section) ranges.push([start, lines.length]);
  return ranges;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Values of the keys set in one section (the last occurrence of a key wins). */
export function getKeys(text: string, section: string | null = null): Map<string, string> {
  const lines = splitLines(text);
  const out = new Map<string, string>();
  for (const [s, e] of sectionRanges(lines, section)) {
    for (const a of entries(lines, s, e)) out.set(a.key, a.value);
  }
  return out;
}

/** The separator new lines use when the caller did not choose. */
function inferSep(lines: Line[], opts: IniEditOptions): string {
  if (opts.noExtraSpaces !== undefined) return opts.noExtraSpaces ? '=' : ' = ';
  const a = entries(lines, 0, lines.length)[0];
  if (a) return a.sep.includes(' ') || a.sep.includes('\t') ? ' = ' : '=';
  return ' = ';
}

/**
 * Sets (string) or removes (null) keys in one section and returns the new text and what changed.
 * An active key is updated in place (all its occurrences); an absent key replaces its commented
 * default (`#key = …`, `# key=…`, `;key …`) when there is one, else is appended at the end of its
 * section, creating the section at the end of the file if needed.
 */
export function setKeys(text: string, settings: Record<string, string | null>, opts: IniEditOptions = {}): { text: string; changes: IniChange[] } {
  const lines = splitLines(text);
  const section = opts.section ?? null;
  const eol = lines.find((l) => l.eol !== '')?.eol ?? '\n';
  const sep = inferSep(lines, opts);
  const changes: IniChange[] = [];
  // Quotes are part of a plain ini value; only a file without [sections] (qemu.conf,
  // libvirtd.conf) reads '…' and "…" alike.
  const confLike = section === null && !lines.some((l) => HEADER.test(l.body));

  for (const [key, want] of Object.entries(settings)) {
    const ranges = sectionRanges(lines, section);
    const active = ranges.flatMap(([s, e]) => entries(lines, s, e)).filter((a) => a.key === key);

    if (want === null) {
      if (active.length === 0) continue;
      changes.push({ key, from: active[0].value });
      for (const a of active.reverse()) lines.splice(a.start, a.end - a.start);
      continue;
    }
    if (active.length > 0) {
      const differ = active.filter((a) => !sameValue(a.value, want, confLike));
      if (differ.length === 0) continue;
      changes.push({ key, from: differ[0].value, to: want });
      for (const a of differ.reverse()) {
        lines.splice(a.start, a.end - a.start, ...toLines(a.indent + a.key + a.sep + want + a.trail, eol, lines[a.end - 1].eol));
      }
      continue;
    }
    changes.push({ key, to: want });
    const commented = new RegExp(`^(\\s*)[#;]+\\s*${escapeRe(key)}(\\s*=\\s*)`);
    let done = false;
    for (const [s, e] of ranges) {
      for (let i = s; i < e && !done; i++) {
        const m = commented.exec(lines[i].body);
        if (!m) continue;
        const ownSep = opts.noExtraSpaces === undefined ? m[2] : sep;
        lines.splice(i, 1, ...toLines(m[1] + key + ownSep + want, eol, lines[i].eol));
        done = true;
      }
    }
    if (done) continue;
    const newLine = key + sep + want;
    if (ranges.length > 0) {
      const [s, e] = ranges[ranges.length - 1];
      let at = e;
      while (at > s && lines[at - 1].body.trim() === '') at--;
      insertLine(lines, at, newLine, eol);
    } else {
      // The section does not exist: add it at the end, after a blank line.
      if (lines.length > 0 && lines[lines.length - 1].body.trim() !== '') insertLine(lines, lines.length, '', eol);
      insertLine(lines, lines.length, `[${section}]`, eol);
      insertLine(lines, lines.length, newLine, eol);
    }
  }
  return { text: joinLines(lines), changes };
}

/** Inserts a line; at the very end of a file without final newline, the new line inherits that. */
function insertLine(lines: Line[], at: number, body: string, eol: string): void {
  if (at === lines.length && lines.length > 0 && lines[at - 1].eol === '') {
    lines[at - 1] = { ...lines[at - 1], eol };
    lines.push(...toLines(body, eol, ''));
    return;
  }
  lines.splice(at, 0, ...toLines(body, eol, eol));
}
