// Pure line editing for lineinfile, as Ansible's module does it: a regexp (or the exact line)
// finds the line to replace or remove; a new line goes after/before a matching line, or at EOF/BOF.
import { paramProblem, type Change, type ParamProblem } from '../../engine/module/contract.js';
import { fileChange, type FileTarget } from '../lib/files/path-info.js';

export interface LineParams {
  path: string;
  line?: string;
  regexp?: string;
  search_string?: string;
  state: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
  firstmatch: boolean;
}

/** A Python `re` pattern as a JS RegExp (named groups spelt the Python way included). */
export function pythonRegExp(source: string): RegExp {
  return new RegExp(source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>'));
}

/** The message for a pattern JS cannot compile, or undefined. */
export function regexpProblem(field: string, source: string | undefined): ParamProblem | undefined {
  if (source === undefined || source.includes('{{')) return undefined;
  try {
    pythonRegExp(source);
    return undefined;
  } catch (e) {
    return paramProblem(field, `invalid regular expression '${source}': ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '')}`);
  }
}

/** Lines without their terminators, and whether the text ended with one. */
export function splitLines(text: string): { lines: string[]; eol: string; finalNewline: boolean } {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  if (text === '') return { lines: [], eol, finalNewline: true };
  const finalNewline = text.endsWith('\n');
  const body = finalNewline ? text.slice(0, text.endsWith('\r\n') ? -2 : -1) : text;
  return { lines: body.split(/\r?\n/), eol, finalNewline };
}

export function joinLines(lines: string[], eol: string, finalNewline: boolean): string {
  if (lines.length === 0) return '';
  return lines.join(eol) + (finalNewline ? eol : '');
}

type Matcher = (line: string) => boolean;

function finder(p: LineParams): Matcher {
  if (p.regexp !== undefined) {
    const re = pythonRegExp(p.regexp);
    return (l) => re.test(l);
  }
  if (p.search_string !== undefined) return (l) => l.includes(p.search_string!);
  return (l) => l === p.line;
}

function indexOf(lines: string[], m: Matcher, first: boolean): number {
  if (first) return lines.findIndex(m);
  for (let i = lines.length - 1; i >= 0; i--) if (m(lines[i])) return i;
  return -1;
}

/** Where new lines go: after/before the last (or first) line matching insertafter/insertbefore, else EOF/BOF. */
export function insertAt(lines: string[], p: { insertafter?: string; insertbefore?: string; firstmatch?: boolean }): number {
  const find = (source: string) => {
    const re = pythonRegExp(source);
    return indexOf(lines, (l) => re.test(l), p.firstmatch ?? false);
  };
  if (p.insertbefore !== undefined) {
    if (p.insertbefore === 'BOF') return 0;
    const i = find(p.insertbefore);
    return i < 0 ? lines.length : i;
  }
  if (p.insertafter !== undefined && p.insertafter !== 'EOF') {
    const i = find(p.insertafter);
    return i < 0 ? lines.length : i + 1;
  }
  return lines.length;
}

/** Problems of insertafter/insertbefore (both given, or a regexp that does not compile). */
export function insertProblems(p: { insertafter?: string; insertbefore?: string }): ParamProblem[] {
  const errs: ParamProblem[] = [];
  if (p.insertafter !== undefined && p.insertbefore !== undefined) errs.push(paramProblem('insertafter/insertbefore', 'give one of them, not both'));
  for (const m of [
    p.insertafter === 'EOF' ? undefined : regexpProblem('insertafter', p.insertafter),
    p.insertbefore === 'BOF' ? undefined : regexpProblem('insertbefore', p.insertbefore),
  ])
    if (m) errs.push(m);
  return errs;
}

export function editLines(text: string | null, p: LineParams): { text: string; changes: Change<FileTarget>[] } {
  const { lines, eol, finalNewline } = splitLines(text ?? '');
  const change = (from: string | undefined, to: string | undefined) => fileChange(p.path, { facet: 'content', key: 'line' }, { from, to });
  const matches = finder(p);
  if (p.state === 'absent') {
    const kept = lines.filter((l) => !matches(l));
    const removed = lines.filter((l) => matches(l));
    return { text: joinLines(kept, eol, finalNewline || kept.length === 0), changes: removed.map((l) => change(l, undefined)) };
  }
  const line = p.line!;
  const found = indexOf(lines, matches, p.firstmatch);
  if (found >= 0) {
    if (lines[found] === line) return { text: text ?? '', changes: [] };
    const out = [...lines];
    out[found] = line;
    return { text: joinLines(out, eol, finalNewline), changes: [change(lines[found], line)] };
  }
  // No regexp match: the exact line anywhere already satisfies the task (so a re-run converges).
  if (lines.includes(line)) return { text: text ?? '', changes: [] };
  const out = [...lines];
  out.splice(insertAt(lines, p), 0, line);
  return { text: joinLines(out, eol, true), changes: [change(undefined, line)] };
}
