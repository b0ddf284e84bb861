// lineinfile: one line of a text file present (replacing the line a regexp finds) or absent.
import type { FileTarget } from '../lib/files/path-info.js';
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import { lineBreakProblem } from '../lib/files/line-checks.js';
import { editLines, insertProblems, regexpProblem, type LineParams } from './parse.js';
import { textFileParts, type TextFileParams, type TextFileState } from '../lib/files/text-file.js';

export type LineInFileParams = LineParams & TextFileParams;

export const lineinfileModule: Module<LineInFileParams, TextFileState, FileTarget> = {
  name: 'lineinfile',
  kind: 'state',
  summary: 'Make sure one line is in a text file (replacing the line a regexp finds), or that matching lines are not.',
  description:
    "As Ansible's lineinfile: with regexp, the last matching line (first with firstmatch) is replaced by line; without a " +
    'match the line is inserted after the last line matching insertafter (default EOF) or before insertbefore (BOF for ' +
    'the start), unless the exact line is already there. state: absent removes every line matching regexp, search_string or ' +
    'the exact line. Regexps are Python-style (named groups (?P<x>…) accepted); backrefs is not supported. Every other byte ' +
    'of the file is kept; --diff shows the whole file.',
  params: {
    path: { type: 'str', required: true, description: 'Absolute path of the file.', aliases: ['dest', 'destfile', 'name'] },
    line: { type: 'str', description: 'The line to have (required with state: present).', aliases: ['value'] },
    regexp: { type: 'str', description: 'Python-style regular expression finding the line to replace or remove.', aliases: ['regex'] },
    search_string: { type: 'str', description: 'A literal string finding the line to replace or remove (instead of regexp).' },
    state: { type: 'str', default: 'present', choices: ['present', 'absent'], description: 'present: the line is there; absent: matching lines are not.' },
    insertafter: { type: 'str', description: "EOF (default) or a regexp: a new line goes after the last line matching it." },
    insertbefore: { type: 'str', description: 'BOF or a regexp: a new line goes before the last line matching it.' },
    firstmatch: { type: 'bool', default: false, description: 'Use the first matching line (regexp, insertafter/insertbefore), not the last.' },
    create: { type: 'bool', default: false, description: 'Create the file when it does not exist.' },
    backup: { type: 'bool', default: false, description: 'Keep the previous content as PATH.<timestamp>~.' },
    ...META_PARAMS,
  },
  examples: [
    '- lineinfile:\n    path: /etc/default/libvirtd\n    regexp: "^LIBVIRTD_ARGS="\n    line: LIBVIRTD_ARGS="--listen"',
    '- lineinfile:\n    path: /etc/hosts\n    line: "{{ migration_ip }} {{ inventory_hostname }}-mig"',
    '- lineinfile:\n    path: /etc/modules\n    regexp: "^vhost_net$"\n    state: absent',
  ],
  validate(p) {
    const errs = checkAbsolute('path', p.path);
    if (p.state === 'present' && p.line === undefined) errs.push(paramProblem('line', 'required when state is present'));
    if (p.state === 'absent' && p.line === undefined && p.regexp === undefined && p.search_string === undefined) errs.push(paramProblem('regexp/search_string/line', 'give one to say which lines to remove'));
    if (p.regexp !== undefined && p.search_string !== undefined) errs.push(paramProblem('regexp/search_string', 'give one of them, not both'));
    errs.push(...insertProblems(p));
    for (const m of [lineBreakProblem('line', p.line), regexpProblem('regexp', p.regexp)]) if (m) errs.push(m);
    return errs;
  },
  ...textFileParts<LineInFileParams>(editLines),
};
