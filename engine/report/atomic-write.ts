// Local files written so a reader (node_exporter, CI, the next check) never sees half of one.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { PlayError } from '../errors.js';

/**
 * Writes beside the target (same filesystem, so rename is atomic), then renames over it. Content
 * given in pieces is written piece by piece: a 10,000-host record is never one 50 MB string.
 */
export function writeFileAtomic(path: string, content: string | Iterable<string>, mode = 0o644): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    mkdirSync(dir, { recursive: true });
    if (typeof content === 'string') writeFileSync(tmp, content, { mode, flush: true });
    else writePieces(tmp, content, mode);
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

function writePieces(path: string, pieces: Iterable<string>, mode: number): void {
  const fd = openSync(path, 'w', mode);
  try {
    let buf = '';
    for (const piece of pieces) {
      buf += piece;
      if (buf.length >= 1 << 16) (writeSync(fd, buf), (buf = ''));
    }
    if (buf) writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
