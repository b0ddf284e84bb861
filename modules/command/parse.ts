// Pure parts of command: the shell line to run and the data it registers.
import { posix } from 'node:path';
import type { RunResult } from '../../engine/connection/host.js';
import { shQuote } from '../../engine/connection/quote.js';

/**
 * The line sent to sh: a failed `cd` stops it (a `;` in cmd must not run elsewhere). With an
 * executable (shell's bash), cmd is handed to it as one quoted argument.
 */
export function commandLine(cmd: string, chdir?: string, executable?: string): string {
  const body = executable === undefined ? cmd : `exec ${shQuote(executable)} -c ${shQuote(cmd)}`;
  return chdir === undefined ? body : `cd -- ${shQuote(chdir)} || exit\n${body}`;
}

/** creates/removes relative to chdir, like Ansible. */
export function resolveIn(path: string, chdir?: string): string {
  return chdir === undefined || path.startsWith('/') ? path : posix.join(chdir, path);
}

/** Trailing newlines removed (Ansible's habit), so `out.stdout == 'yes'` works. */
const strip = (s: string) => s.replace(/[\r\n]+$/, '');
const lines = (s: string) => (s === '' ? [] : s.split(/\r?\n/));

export function outputData(cmd: string, r: RunResult): Record<string, unknown> {
  const stdout = strip(r.stdout);
  const stderr = strip(r.stderr);
  return { cmd, rc: r.code, signal: r.signal ?? undefined, stdout, stderr, stdout_lines: lines(stdout), stderr_lines: lines(stderr) };
}
