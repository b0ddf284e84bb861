// Local commands for the lab (ip, sshd, ssh-keygen): argv arrays, no shell in between.
import { execFile } from 'node:child_process';
import { PlayError } from '../errors.js';

export interface LocalResult {
  stdout: string;
  stderr: string;
  code: number;
}

export function runLocal(file: string, args: string[], stdin?: string): Promise<LocalResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(file, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err); // could not start at all
      resolve({ stdout, stderr, code: err ? Number(err.code) : 0 });
    });
    child.stdin?.on('error', () => {});
    child.stdin?.end(stdin ?? '');
  });
}

/** Runs and throws a PlayError naming the command and its stderr unless it exits 0. */
export async function runLocalOk(file: string, args: string[], stdin?: string): Promise<string> {
  const r = await runLocal(file, args, stdin);
  if (r.code !== 0) throw new PlayError(`lab: ${[file, ...args].join(' ')} failed with exit code ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
