// template: a file rendered from a handlebars template beside the playbook (or in templates/).
import type { FileTarget } from '../lib/files/path-info.js';
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { renderFile } from '../../engine/lang/template.js';
import { rootPath } from '../../engine/paths.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import { applyContent, contentProbe, contentSteps, contentResult, diffContent, type ContentParams, type ContentState } from '../copy/content-file.js';
import { readLocalSrc } from '../copy/local-src.js';

/** Where src is looked up after the playbook's directory (`play validate` checks the same places). */
export const TEMPLATE_DIR = rootPath('templates');

export interface TemplateParams extends ContentParams {
  src: string;
}

export const templateModule: Module<TemplateParams, ContentState, FileTarget> = {
  name: 'template',
  kind: 'state',
  summary: "Render a template file with the host's variables and put the result into a file on the host.",
  description:
    "src is looked up relative to the playbook's directory, then in the project's templates/ directory. " +
    'Rendering is strict: an undefined variable fails the task with file:line of the template. ' +
    'Otherwise like copy: content (with --diff), mode/owner/group facets, atomic write, backup, validate.',
  params: {
    src: { type: 'str', required: true, description: "Template file (handlebars), relative to the playbook's directory or templates/." },
    dest: { type: 'str', required: true, description: 'Absolute path of the file on the host.', aliases: ['path'] },
    ...META_PARAMS,
    backup: { type: 'bool', default: true, description: 'Keep the previous content as DEST.<timestamp>~.' },
    validate: { type: 'str', description: 'A command run on the rendered file before it is installed; %s is its path.' },
  },
  examples: [
    '- template:\n    src: templates/qemu-migration.conf.j2\n    dest: /etc/libvirt/qemu.conf.d/migration.conf\n    mode: "0644"',
  ],
  validate(p) {
    const errs = checkAbsolute('dest', p.dest);
    if (p.validate !== undefined && !p.validate.includes('%s')) errs.push(paramProblem('validate', 'must contain %s (the path of the file to check)'));
    return errs;
  },
  // The dest as a probe (batched with other tasks' reads); the rendering, local, after it with
  // the task's variables as they are when it is reached.
  probe: (p, h) => contentProbe(h, p.dest),
  async readMore(ctx, p, s) {
    // Rendering is pure, so it belongs to read: diff then compares plain bytes.
    const src = await readLocalSrc(p.src, ctx.vars, TEMPLATE_DIR);
    const text = renderFile(src.data.toString('utf8'), ctx.vars, { file: src.path, task: `template ${p.dest}` });
    return { ...s, want: Buffer.from(text, 'utf8') };
  },
  diff: (s, p) => diffContent(s, p),
  applySteps: (p, changes, s, h) => contentSteps(p, changes, s, h),
  apply: (ctx, p, changes, s) => applyContent(ctx, p, changes, s),
  result: (s, p) => contentResult(s, p),
};
