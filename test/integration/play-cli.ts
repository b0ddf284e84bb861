// Runs the real `play` CLI (compiled) the way an operator or cron would: no terminal, no colour.
import { spawnSync } from 'node:child_process';
import { rootPath } from '../../engine/paths.js';

export const CLI = rootPath('dist', 'engine', 'cli.js');

export function play(args: string[], env: Record<string, string> = {}): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true', ...env }, timeout: 170_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
