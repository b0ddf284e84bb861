// Local files written so a reader (node_exporter, CI, the next check) never sees half of one.
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PlayError } from '../errors.js';

/** Writes beside the target (same filesystem, so rename is atomic), then renames over it. */
export function writeFileAtomic(path: string, content: string, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(tmp, content, { mode, flush: true });
    renameSync(tmp, path);
  } catch (e) {
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was created there (e.g. the directory is a file) */
    }
    const err = e as NodeJS.ErrnoException;
    throw new PlayError(`cannot write ${path}: ${err.code ? `${err.code}: ` : ''}${err.message.replace(/^\w+: /, '')}`);
  }
}
