// Lab hosts for integration tests: a fresh lab per test file, plus ways to look behind the
// engine's back (commands each host ran, connections sshd accepted, commands in a namespace).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { labDown, labUp, readCommandsLog, type LabInfo } from '../../engine/lab/index.js';
import { sshdPaths } from '../../engine/lab/sshd.js';
import { ConnectionPool } from '../../engine/connection/pool.js';
import { untie } from '../../engine/connection/tie.js';
import type { BaseHost } from '../../engine/connection/base-host.js';

export type { LabInfo, LabHost } from '../../engine/lab/index.js';
export { stopHost, startHost } from '../../engine/lab/index.js';

/**
 * Two checkouts running the suite at once (a developer's worktrees) must not share labs:
 * PLAY_TEST_LAB_TAG (a letter or digit) is appended to every test lab's name, and
 * PLAY_TEST_OCTET_SHIFT moves every test lab's octet. Test files name their labs through these. Unset in CI: the names and octets as written.
 */
export function testLabName(name: string): string {
  return name + (process.env.PLAY_TEST_LAB_TAG ?? '');
}
export function testOctet(octet: number): number {
  return (octet + Number(process.env.PLAY_TEST_OCTET_SHIFT ?? 0)) % 256;
}

/** Downs any leftover of a crashed run, then brings the lab up from scratch. */
export async function startLab(opts: { name: string; hosts: number; octet: number }): Promise<LabInfo> {
  await labDown(opts.name);
  return labUp(opts);
}

export async function stopLab(name: string): Promise<void> {
  await labDown(name);
}

const hostIndex = (host: string | number): number => (typeof host === 'number' ? host : Number(/^hv([0-9]+)$/.exec(host)?.[1] ?? NaN));

/**
 * Every command host ran over SSH, oldest first, as the engine asked for it (multi-line ones
 * intact): the wrapper that ties a command to its channel (engine/connection/tie.ts) is removed.
 */
export function commandsLog(name: string, host: string | number): string[] {
  return readCommandsLog(sshdPaths(name, hostIndex(host)).commandsLog).map(untie);
}

/** How many SSH connections the host's sshd has accepted since the lab came up. */
export function acceptedConnections(name: string, host: string | number): number {
  const log = readFileSync(sshdPaths(name, hostIndex(host)).log, 'utf8');
  return log.split('\n').filter((l) => l.includes('Accepted publickey')).length;
}

export interface NsResult {
  stdout: string;
  stderr: string;
  code: number;
}

/**
 * Runs `cmd` with /bin/sh inside network namespace `ns` (with its /etc overlays), directly,
 * not over SSH. Throws unless it exits 0, or pass { check: false } to get the exit code.
 */
export function nsExec(ns: string, cmd: string, opts: { check?: boolean; stdin?: string } = {}): Promise<NsResult> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, '/bin/sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      const code = err ? Number(err.code) : 0;
      if (code !== 0 && opts.check !== false) return reject(new Error(`nsExec ${ns}: exit ${code}: ${cmd}\n${stderr}`));
      resolve({ stdout, stderr, code });
    });
    // The child may exit before reading: an EPIPE here must not become an uncaught error.
    child.stdin?.on('error', () => undefined);
    if (opts.stdin === undefined) child.stdin?.end();
    else child.stdin?.end(opts.stdin);
  });
}

/**
 * One real SSH connection per lab host through the engine's own pool (strict host keys from the
 * lab's known_hosts), in lab order. Close with `pool.closeAll()`.
 */
export async function connectLab(lab: LabInfo): Promise<{ pool: ConnectionPool; hosts: BaseHost[] }> {
  const pool = new ConnectionPool({ onWarning: () => {} });
  const hosts = await Promise.all(
    lab.hosts.map((h) =>
      pool.get(h.name, {
        ansible_host: h.address,
        ansible_port: h.port,
        ansible_user: 'root',
        ansible_ssh_private_key_file: lab.keyPath,
        play_known_hosts_file: lab.knownHostsPath,
      }),
    ),
  );
  return { pool, hosts };
}
