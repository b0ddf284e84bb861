// Pure block editing for blockinfile: the lines between two marker lines are the block; it is
// replaced, inserted (after/before a matching line, EOF/BOF) or removed with its markers.
import type { Change } from '../../engine/module/contract.js';
import { fileChange, type FileTarget } from '../lib/files/path-info.js';
import { insertAt, joinLines, splitLines } from '../lineinfile/parse.js';

export interface BlockParams {
  path: string;
  block: string;
  marker: string;
  marker_begin: string;
  marker_end: string;
  state: 'present' | 'absent';
  insertafter?: string;
  insertbefore?: string;
}

export const markerLine = (p: BlockParams, which: 'begin' | 'end') => p.marker.replace('{mark}', which === 'begin' ? p.marker_begin : p.marker_end);

/** Block text as lines: a final newline does not add an empty line (YAML `|` blocks end with one). */
const blockLines = (block: string): string[] => (block === '' ? [] : splitLines(block).lines);

export function editBlock(text: string | null, p: BlockParams): { text: string; changes: Change<FileTarget>[] } {
  const { lines, eol, finalNewline } = splitLines(text ?? '');
  const begin = markerLine(p, 'begin');
  const end = markerLine(p, 'end');
  const b = lines.indexOf(begin);
  const e = b < 0 ? -1 : lines.indexOf(end, b + 1);
  const current = b >= 0 && e >= 0 ? lines.slice(b + 1, e) : undefined;
  const change = (from: string | undefined, to: string | undefined) => fileChange(p.path, { facet: 'content', key: `block '${begin}'` }, { from, to });
  const want = blockLines(p.block);
  // An empty block is removed with its markers, as in Ansible.
  if (p.state === 'absent' || want.length === 0) {
    if (current === undefined) return { text: text ?? '', changes: [] };
    const out = [...lines.slice(0, b), ...lines.slice(e + 1)];
    return { text: joinLines(out, eol, finalNewline || out.length === 0), changes: [change(current.join('\n'), undefined)] };
  }
  if (current !== undefined && current.join('\n') === want.join('\n')) return { text: text ?? '', changes: [] };
  const out = [...lines];
  if (current !== undefined) out.splice(b, e - b + 1, begin, ...want, end);
  else out.splice(insertAt(lines, p), 0, begin, ...want, end);
  return { text: joinLines(out, eol, current === undefined ? true : finalNewline), changes: [change(current?.join('\n'), want.join('\n'))] };
}
