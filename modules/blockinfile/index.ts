// blockinfile: a block of lines between marker lines in a text file, present or absent.
import type { FileTarget } from '../lib/files/path-info.js';
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import { lineBreakProblem } from '../lib/files/line-checks.js';
import { insertProblems } from '../lineinfile/parse.js';
import { textFileParts, type TextFileParams, type TextFileState } from '../lib/files/text-file.js';
import { editBlock, type BlockParams } from './parse.js';

export type BlockInFileParams = BlockParams & TextFileParams;

export const blockinfileModule: Module<BlockInFileParams, TextFileState, FileTarget> = {
  name: 'blockinfile',
  kind: 'state',
  summary: 'Keep a block of lines between two marker lines in a text file (or remove it).',
  description:
    "As Ansible's blockinfile: the block sits between `# BEGIN ANSIBLE MANAGED BLOCK` and `# END ANSIBLE MANAGED BLOCK` " +
    '(marker, marker_begin, marker_end change them; give each block of a file its own marker). An existing block is ' +
    'replaced in place; a new one goes after the last line matching insertafter (default EOF) or before insertbefore ' +
    '(BOF for the start). An empty block, or state: absent, removes the block and its markers. Every other byte is kept.',
  params: {
    path: { type: 'str', required: true, description: 'Absolute path of the file.', aliases: ['dest', 'destfile', 'name'] },
    block: { type: 'str', default: '', description: 'The lines of the block (a YAML | literal keeps line breaks).', aliases: ['content'] },
    marker: { type: 'str', default: '# {mark} ANSIBLE MANAGED BLOCK', description: 'Marker line template; {mark} becomes marker_begin / marker_end.' },
    marker_begin: { type: 'str', default: 'BEGIN', description: 'What {mark} is in the first marker.' },
    marker_end: { type: 'str', default: 'END', description: 'What {mark} is in the last marker.' },
    state: { type: 'str', default: 'present', choices: ['present', 'absent'], description: 'absent removes the block and its markers.' },
    insertafter: { type: 'str', description: 'EOF (default) or a regexp: a new block goes after the last line matching it.' },
    insertbefore: { type: 'str', description: 'BOF or a regexp: a new block goes before the last line matching it.' },
    create: { type: 'bool', default: false, description: 'Create the file when it does not exist.' },
    backup: { type: 'bool', default: false, description: 'Keep the previous content as PATH.<timestamp>~.' },
    ...META_PARAMS,
  },
  examples: [
    '- blockinfile:\n    path: /etc/hosts\n    marker: "# {mark} migration network"\n    block: |\n      198.18.0.1 hv1-mig\n      198.18.0.2 hv2-mig',
    '- blockinfile:\n    path: /etc/ssh/sshd_config\n    insertbefore: BOF\n    block: |\n      Match Address 198.18.0.0/15\n        PermitRootLogin prohibit-password',
  ],
  validate(p) {
    const errs = checkAbsolute('path', p.path);
    if (!p.marker.includes('{mark}')) errs.push(paramProblem('marker', "must contain {mark}, or the begin and end markers are the same line"));
    errs.push(...insertProblems(p));
    for (const f of ['marker', 'marker_begin', 'marker_end'] as const) {
      const m = lineBreakProblem(f, p[f]);
      if (m) errs.push(m);
    }
    return errs;
  },
  ...textFileParts<BlockInFileParams>(editBlock),
};
