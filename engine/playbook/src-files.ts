// Controller-side files a task names (template src, copy src), found at validate time the way the
// modules find them at run time: a missing file must not fail a run after other tasks changed hosts.
import { readFileSync, statSync } from 'node:fs';
import { srcCandidates } from '../../modules/copy/local-src.js';
import { TEMPLATE_DIR } from '../../modules/template/index.js';
import type { Task } from './types.js';

/** Modules whose `src` is a controller file: the directory tried after the playbook's, and whether its text is a template. */
const SRC_MODULES: Record<string, { fallback?: string; template: boolean }> = {
  template: { fallback: TEMPLATE_DIR, template: true },
  copy: { template: false },
};

export type SrcFile = { path: string; text?: string } | { problem: string };

/**
 * The file behind a task's literal `src` (its text for a template), or the problem finding it;
 * undefined when the task has no such src or it is templated (known only per host at run time).
 */
export function localSrcFile(task: Task, playbookDir: string): SrcFile | undefined {
  const kind = SRC_MODULES[task.module];
  const src = task.params.src;
  if (!kind || typeof src !== 'string' || src === '' || src.includes('{{')) return undefined;
  const tried = srcCandidates(src, { playbook_dir: playbookDir }, kind.fallback);
  for (const path of tried) {
    try {
      if (kind.template) return { path, text: readFileSync(path, 'utf8') };
      if (!statSync(path).isFile()) return { problem: `${task.module}.src: ${path} is not a file` };
      return { path };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') return { problem: `${task.module}.src: cannot read ${path}: ${code ?? String(e)}` };
    }
  }
  return { problem: `${task.module}.src: '${src}' not found (looked in ${tried.join(', ')})` };
}
