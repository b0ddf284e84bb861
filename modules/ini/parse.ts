// A byte-preserving editor for `key = value` files, with or without [sections]
// (qemu.conf, libvirtd.conf, systemd's *.conf, classic .ini). Only the named keys are
// touched; every other byte (comments, blank lines, line endings, final newline) stays.

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

export function parseActive(body: string): Active | undefined {
  if (HEADER.test(body)) return undefined;
  const m = ACTIVE.exec(body);
  return m ? { indent: m[1], key: m[2], sep: m[3], value: m[4], trail: m[5] } : undefined;
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
    for (let i = s; i < e; i++) {
      const a = parseActive(lines[i].body);
      if (a) out.set(a.key, a.value);
    }
  }
  return out;
}

/** The separator new lines use when the caller did not choose. */
function inferSep(lines: Line[], opts: IniEditOptions): string {
  if (opts.noExtraSpaces !== undefined) return opts.noExtraSpaces ? '=' : ' = ';
  for (const l of lines) {
    const a = parseActive(l.body);
    if (a) return a.sep.includes(' ') || a.sep.includes('\t') ? ' = ' : '=';
  }
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

  for (const [key, want] of Object.entries(settings)) {
    const ranges = sectionRanges(lines, section);
    const active: number[] = [];
    for (const [s, e] of ranges) for (let i = s; i < e; i++) if (parseActive(lines[i].body)?.key === key) active.push(i);

    if (want === null) {
      if (active.length === 0) continue;
      changes.push({ key, from: parseActive(lines[active[0]].body)!.value });
      for (const i of active.reverse()) lines.splice(i, 1);
      continue;
    }
    if (active.length > 0) {
      const differ = active.filter((i) => parseActive(lines[i].body)!.value !== want);
      if (differ.length === 0) continue;
      changes.push({ key, from: parseActive(lines[differ[0]].body)!.value, to: want });
      for (const i of differ) {
        const a = parseActive(lines[i].body)!;
        lines[i] = { body: a.indent + a.key + a.sep + want + a.trail, eol: lines[i].eol };
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
        lines[i] = { body: m[1] + key + ownSep + want, eol: lines[i].eol };
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
    lines.push({ body, eol: '' });
    return;
  }
  lines.splice(at, 0, { body, eol });
}
