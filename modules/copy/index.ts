// copy: a file's content (given inline or from a controller file) and its mode/owner/group.
import type { FileTarget } from '../lib/files/path-info.js';
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import { applyContent, contentProbe, contentSteps, contentResult, diffContent, type ContentParams, type ContentState } from './content-file.js';
import { readLocalSrc } from './local-src.js';

export interface CopyParams extends ContentParams {
  content?: string;
  src?: string;
}

export const copyModule: Module<CopyParams, ContentState, FileTarget> = {
  name: 'copy',
  kind: 'state',
  summary: 'Put content (inline or from a file beside the playbook) into a file on the host.',
  description:
    'Facets: the content (`--diff` shows a unified diff), `dest mode`, `dest owner`, `dest group`; a metadata-only ' +
    'change never rewrites the file. Writes are atomic (temp file + rename); the old content is kept as ' +
    'DEST.<timestamp>~ unless backup is false. validate runs a command on the new content (%s = a temporary ' +
    'copy beside dest) and the file is only replaced when it succeeds.',
  params: {
    dest: { type: 'str', required: true, description: 'Absolute path of the file on the host.', aliases: ['path'] },
    content: { type: 'str', anyBytes: true, description: 'The file content, exactly (no newline is added).' },
    src: { type: 'str', description: "A controller file, relative to the playbook's directory." },
    ...META_PARAMS,
    backup: { type: 'bool', default: true, description: 'Keep the previous content as DEST.<timestamp>~.' },
    validate: { type: 'str', description: "A command run on the new content before it is installed; %s is its path, e.g. 'visudo -cf %s'." },
  },
  examples: [
    '- copy:\n    dest: /etc/play/motd\n    content: "managed by play\\n"\n    mode: "0644"',
    '- copy:\n    src: files/sudoers-play\n    dest: /etc/sudoers.d/play\n    mode: "0440"\n    validate: visudo -cf %s',
  ],
  validate(p) {
    const errs = checkAbsolute('dest', p.dest);
    if ((p.content === undefined) === (p.src === undefined)) errs.push(paramProblem('content/src', 'give exactly one of them'));
    if (p.validate !== undefined && !p.validate.includes('%s')) errs.push(paramProblem('validate', "must contain %s (the path of the file to check)"));
    return errs;
  },
  // The dest as a probe (batched with other tasks' reads); the wanted bytes, local, after it.
  probe: (p, h) => contentProbe(h, p.dest),
  async readMore(ctx, p, s) {
    const want = p.content !== undefined ? Buffer.from(p.content, 'utf8') : (await readLocalSrc(p.src!, ctx.vars)).data;
    return { ...s, want };
  },
  diff: (s, p) => diffContent(s, p),
  applySteps: (p, changes, s, h) => contentSteps(p, changes, s, h),
  apply: (ctx, p, changes, s) => applyContent(ctx, p, changes, s),
  result: (s, p) => contentResult(s, p),
};
