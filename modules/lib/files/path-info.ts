// Pure parts shared by file, copy, template, ini and stat: `stat -c` output, file modes,
// and the metadata facets (mode, owner, group) of a path.
import type { Change } from '../../../engine/module/contract.js';
import { modeText, type ModeParam } from './mode-param.js';
import { ModuleError } from '../../../engine/errors.js';

/** The `stat -c` format read-path scripts use: type|octal mode|owner|group|uid|gid|size. */
export const STAT_FORMAT = '%F|%a|%U|%G|%u|%g|%s';

export type FileType = 'file' | 'directory' | 'link' | 'other';

export interface FileStat {
  type: FileType;
  /** Four octal digits, e.g. '0644', '1777'. */
  mode: string;
  owner: string;
  group: string;
  uid: number;
  gid: number;
  size: number;
}

/** What one read of a path found: the path itself, what it points to, its parent directory. */
export interface PathInfo {
  path: string;
  /** The path itself, not following a symlink; null when nothing is there. */
  self: FileStat | null;
  /** Following symlinks; null when missing or a dangling link. */
  target: FileStat | null;
  /** The symlink's target as written (readlink), when the path is a symlink. */
  linkTarget?: string;
  parentExists: boolean;
}

export interface MetaWant {
  mode?: ModeParam;
  owner?: string;
  group?: string;
}

function fileType(f: string): FileType {
  if (f === 'regular file' || f === 'regular empty file') return 'file';
  if (f === 'directory') return 'directory';
  if (f === 'symbolic link') return 'link';
  return 'other';
}

/** One line of `stat -c STAT_FORMAT`; null for the literal `missing`. */
export function parseStatLine(line: string): FileStat | null {
  const l = line.trim();
  if (l === 'missing') return null;
  const parts = l.split('|');
  if (parts.length !== 7 || !/^[0-7]{1,4}$/.test(parts[1])) throw new ModuleError(`stat printed ${JSON.stringify(line)}, not TYPE|MODE|OWNER|GROUP|UID|GID|SIZE`);
  const [type, mode, owner, group, uid, gid, size] = parts;
  return { type: fileType(type), mode: mode.padStart(4, '0'), owner, group, uid: Number(uid), gid: Number(gid), size: Number(size) };
}

/** Output of the read-path script (see meta.ts): self line, target line, link target, parent. */
export function parsePathInfo(path: string, stdout: string): PathInfo {
  const lines = stdout.split('\n');
  if (lines.length < 4) throw new ModuleError(`reading ${path} printed ${lines.length} line(s), not the 4 expected: ${JSON.stringify(stdout.slice(0, 200))}`);
  const self = parseStatLine(lines[0]);
  const info: PathInfo = { path, self, target: parseStatLine(lines[1]), parentExists: lines[3] === 'parent' };
  if (self?.type === 'link') info.linkTarget = lines[2];
  return info;
}

/** '644' → '0644'; symbolic modes stay as written (they are resolved against the current mode). */
export function normalizeMode(mode: string): string {
  return /^[0-7]{3}$/.test(mode) ? `0${mode}` : mode;
}

const WHO: Record<string, number> = { u: 0o4700, g: 0o2070, o: 0o1007 };

/**
 * The octal mode chmod would give for `desired` (octal or symbolic like `u=rw,g=r,o=`),
 * starting from `current` (the mode before; '0000' for a new path).
 */
export function resolveMode(desired: string, current: string, isDir: boolean): string {
  const d = normalizeMode(desired);
  if (/^[0-7]{4}$/.test(d)) return d;
  let m = parseInt(current, 8);
  for (const clause of d.split(',')) {
    const c = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (!c) throw new ModuleError(`invalid symbolic mode clause '${clause}'`);
    const who = c[1] === '' || c[1].includes('a') ? 'ugo' : c[1];
    let bits = 0;
    for (const w of who) {
      for (const p of c[3]) {
        if (p === 'r') bits |= { u: 0o400, g: 0o040, o: 0o004 }[w as 'u' | 'g' | 'o'];
        if (p === 'w') bits |= { u: 0o200, g: 0o020, o: 0o002 }[w as 'u' | 'g' | 'o'];
        if (p === 'x' || (p === 'X' && (isDir || (m & 0o111) !== 0))) bits |= { u: 0o100, g: 0o010, o: 0o001 }[w as 'u' | 'g' | 'o'];
        if (p === 's' && w === 'u') bits |= 0o4000;
        if (p === 's' && w === 'g') bits |= 0o2000;
        if (p === 't' && w === 'o') bits |= 0o1000;
      }
    }
    if (c[2] === '+') m |= bits;
    else if (c[2] === '-') m &= ~bits;
    else {
      let clear = 0;
      for (const w of who) clear |= WHO[w];
      m = (m & ~clear) | bits;
    }
  }
  return m.toString(8).padStart(4, '0');
}

/** Owner/group as written may be a name or a numeric id. */
function sameId(want: string, name: string, id: number): boolean {
  return want === name || (/^\d+$/.test(want) && Number(want) === id);
}

export type MetaFacet = 'mode' | 'owner' | 'group';

/**
 * What a change of a file module is about: the path's existence or kind, its content (`key`: the
 * part of it, e.g. `line`, an ini key; none for the whole file), a symlink's target, or metadata.
 */
export interface FileTarget {
  facet: 'kind' | 'content' | 'link' | MetaFacet;
  key?: string;
}

/** The displayed path: `/etc/x`, `/etc/x mode`, `/etc/x link`, `/etc/x line`, `/etc/x [s] key`. */
export function filePathOf(path: string, t: FileTarget): string {
  const word = t.facet === 'kind' || t.facet === 'content' ? t.key : t.facet;
  return word === undefined ? path : `${path} ${word}`;
}

/** A change of `path` about `target`, its display path rendered from the target. */
export function fileChange(path: string, target: FileTarget, fields: Omit<Change, 'path' | 'target'> = {}): Change<FileTarget> {
  return { path: filePathOf(path, target), target, ...fields };
}

/**
 * Mode/owner/group changes of `path`; `cur` null means the path is about to be created,
 * so every facet the task names is a change from nothing.
 */
export function metaChanges(path: string, cur: FileStat | null, want: MetaWant, newType: FileType = 'file'): Change<FileTarget>[] {
  const out: Change<FileTarget>[] = [];
  if (want.mode !== undefined) {
    const to = resolveMode(modeText(want.mode) as string, cur?.mode ?? '0000', (cur?.type ?? newType) === 'directory');
    if (!cur || cur.mode !== to) out.push(fileChange(path, { facet: 'mode' }, { from: cur?.mode, to }));
  }
  if (want.owner !== undefined && (!cur || !sameId(want.owner, cur.owner, cur.uid))) {
    out.push(fileChange(path, { facet: 'owner' }, { from: cur?.owner, to: want.owner }));
  }
  if (want.group !== undefined && (!cur || !sameId(want.group, cur.group, cur.gid))) {
    out.push(fileChange(path, { facet: 'group' }, { from: cur?.group, to: want.group }));
  }
  return out;
}

/** The metadata the changes set, for a write that creates or replaces the file with it. */
export function metaWanted(changes: Change<FileTarget>[]): Partial<Record<MetaFacet, string>> {
  const out: Partial<Record<MetaFacet, string>> = {};
  for (const c of changes) {
    const f = metaFacet(c);
    if (f) out[f] = c.to as string;
  }
  return out;
}

/** The facet a metadata change is about ('mode' | 'owner' | 'group'), or undefined. */
export function metaFacet(c: Change<FileTarget>): MetaFacet | undefined {
  const f = c.target?.facet;
  return f === 'mode' || f === 'owner' || f === 'group' ? f : undefined;
}

/** Content above this is not diffed: a unified diff of it would flood the terminal and the log. */
export const MAX_DIFF_BYTES = 1024 * 1024;

/** Why --diff cannot show this content as text, or undefined when it can. */
export function diffOmission(b: Buffer | null): string | undefined {
  if (b === null) return undefined;
  if (b.length > MAX_DIFF_BYTES) return `${b.length} bytes, over the ${MAX_DIFF_BYTES}-byte limit for diffs`;
  if (b.includes(0)) return 'binary content (it holds NUL bytes)';
  if (!Buffer.from(b.toString('utf8'), 'utf8').equals(b)) return 'binary content (not valid UTF-8)';
  return undefined;
}

/** Text for --diff when both sides are text (valid UTF-8 without NUL bytes) and not huge. */
export function diffText(b: Buffer | null): string | undefined {
  if (b === null) return '';
  return diffOmission(b) === undefined ? b.toString('utf8') : undefined;
}
