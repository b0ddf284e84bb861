// ed25519 key pairs made by OpenSSH's ssh-keygen, so both ssh2 and OpenSSH read them.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Creates PATH and PATH.pub unless they exist; returns the public key line. */
export function ensureKey(path: string, comment: string): string {
  if (!existsSync(path) || !existsSync(`${path}.pub`)) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', path], { stdio: ['ignore', 'ignore', 'inherit'], input: 'y\n' });
  }
  return readFileSync(`${path}.pub`, 'utf8').trim();
}

/** known_hosts lines for `[host]:port` of every port, all with the same host key. */
export function writeKnownHosts(path: string, host: string, ports: number[], hostPub: string): void {
  const [type, b64] = hostPub.split(/\s+/);
  writeFileSync(path, ports.map((p) => `[${host}]:${p} ${type} ${b64}\n`).join(''), { mode: 0o644 });
}
