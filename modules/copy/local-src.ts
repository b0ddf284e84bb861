// Finding a controller-side source file (copy src, template src) the way Ansible does:
// relative to the playbook's directory first, then the project's own fallback directory.
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ModuleError } from '../../engine/errors.js';

/** Candidate paths for `src`, in the order they are tried. */
export function srcCandidates(src: string, vars: Record<string, unknown>, fallbackDir?: string): string[] {
  if (isAbsolute(src)) return [src];
  const base = typeof vars.playbook_dir === 'string' ? vars.playbook_dir : process.cwd();
  const out = [resolve(base, src)];
  if (fallbackDir) out.push(resolve(fallbackDir, src));
  return out;
}

/** Reads the first candidate that exists; a clear ModuleError naming every place tried otherwise. */
export async function readLocalSrc(src: string, vars: Record<string, unknown>, fallbackDir?: string): Promise<{ path: string; data: Buffer }> {
  const tried = srcCandidates(src, vars, fallbackDir);
  for (const path of tried) {
    try {
      return { path, data: await readFile(path) };
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new ModuleError(`src: cannot read ${path}: ${code ?? String(e)}`);
    }
  }
  throw new ModuleError(`src: '${src}' not found (looked in ${tried.join(', ')})`);
}
