// The read/diff/apply of a module that edits a text file with a pure function (lineinfile,
// blockinfile): the file and its metadata read in one round trip, the whole-file before/after
// for --diff, the edit written atomically (create/backup/mode/owner/group as the file modules do).
import type { ApplySteps, Change, DiffResult, Module } from '../../../engine/module/contract.js';
import { ModuleError } from '../../../engine/errors.js';
import type { ModeParam } from './mode-param.js';
import { checkedStep, metaCommand, textFileProbe } from './meta.js';
import { metaChanges, metaFacet, metaWanted, type FileTarget, type PathInfo } from './path-info.js';

export interface TextFileParams {
  path: string;
  create: boolean;
  backup: boolean;
  mode?: ModeParam;
  owner?: string;
  group?: string;
}

export interface TextFileState {
  info: PathInfo;
  /** Current text; null when the file does not exist. */
  text: string | null;
}

/**
 * The pure edit of a module: the new text and what it changed (one Change per edit, no metadata;
 * each a `content` change made with `fileChange`).
 */
export type TextEdit<P> = (text: string | null, p: P) => { text: string; changes: Change<FileTarget>[] };

export function diffTextFile<P extends TextFileParams>(s: TextFileState, p: P, edit: TextEdit<P>): DiffResult<FileTarget> {
  if (s.info.target && s.info.target.type !== 'file') return { changes: [], failures: [`${p.path} is not a regular file`] };
  const e = edit(s.text, p);
  if (s.text === null && e.changes.length === 0) return { changes: [] };
  if (s.text === null && !p.create) return { changes: [], failures: [`${p.path} does not exist and create is false`] };
  const changes = e.changes.map((c) => ({ ...c }));
  // The first change carries the whole-file before/after, so --diff shows the file once.
  if (changes.length) Object.assign(changes[0], { before: s.text ?? '', after: e.text });
  changes.push(...metaChanges(p.path, s.info.target, { mode: p.mode, owner: p.owner, group: p.group }));
  return { changes };
}

/**
 * A text edit as apply steps (sent with the re-read in one exec): metadata alone by chmod/chown,
 * else the new text written atomically with the metadata changes (and a backup of an existing
 * file when asked).
 */
export function editedSteps(hostName: string, p: TextFileParams, changes: Change<FileTarget>[], s: TextFileState, newText: () => string): ApplySteps {
  const meta = changes.filter((c) => metaFacet(c));
  if (meta.length === changes.length) {
    const chmod = checkedStep(hostName, metaCommand(p.path, meta) ?? 'true');
    return { steps: [chmod.step], judge: ([out]) => chmod.judge(out) };
  }
  if (!s.info.parentExists) throw new ModuleError(`cannot create ${p.path}: its parent directory does not exist`);
  return { steps: [{ write: p.path, content: newText(), opts: { ...metaWanted(meta), backup: p.backup && s.text !== null } }] };
}

export function textFileParts<P extends TextFileParams>(edit: TextEdit<P>): Pick<Module<P, TextFileState, FileTarget>, 'probe' | 'diff' | 'applySteps' | 'result'> {
  return {
    probe: (p, h) => textFileProbe(h.hostName, p.path),
    diff: (s, p) => diffTextFile(s, p, edit),
    applySteps: (p, changes, s, h) => editedSteps(h.hostName, p, changes, s, () => edit(s.text, p).text),
    result: (s, p) => ({ path: p.path, exists: s.text !== null }),
  };
}
