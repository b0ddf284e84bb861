// One long-lived holder process per lab host: it keeps the host's network, mount and UTS
// namespaces alive, and every session enters all three with `nsenter`. `ip netns exec` alone
// would give each command a fresh mount namespace, so per-host /run/libvirt etc. could not exist.
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { runLocalOk } from './exec.js';
import { hostDir, hostNs } from './names.js';

/** argv[0] of the holder: names it in `ps` and lets `down` find it without its PID file. */
export const holderTitle = (ns: string): string => `play-lab-holder:${ns}`;
export const holderPidFile = (name: string, i: number): string => join(hostDir(name, i), 'holder.pid');
const holderNsFile = (name: string, i: number): string => join(hostDir(name, i), 'holder.ns');

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function inode(path: string): number | null {
  try {
    return statSync(path).ino;
  } catch {
    return null;
  }
}

function cmdline(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
}

function nsInodes(pid: number): { mnt: number | null; uts: number | null } {
  return { mnt: inode(`/proc/${pid}/ns/mnt`), uts: inode(`/proc/${pid}/ns/uts`) };
}

/** True when PID is the holder of `ns`: its title, and its network namespace is the named one. */
function looksLikeHolder(pid: number, ns: string): boolean {
  const title = cmdline(pid);
  if (!title?.startsWith(`${holderTitle(ns)}\0`)) return false;
  const net = inode(join('/run/netns', ns));
  return net !== null && inode(`/proc/${pid}/ns/net`) === net;
}

/** The verified holder PID of host i, or null: name, netns and recorded mnt/uts inodes must all match. */
export function holderPid(name: string, i: number): number | null {
  const ns = hostNs(name, i);
  let pid: number;
  let rec: { mnt: number; uts: number };
  try {
    pid = Number(readFileSync(holderPidFile(name, i), 'utf8').trim());
    rec = JSON.parse(readFileSync(holderNsFile(name, i), 'utf8')) as { mnt: number; uts: number };
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid < 2 || !looksLikeHolder(pid, ns)) return null;
  const now = nsInodes(pid);
  return now.mnt === rec.mnt && now.uts === rec.uts ? pid : null;
}

/**
 * Starts host i's holder unless a verified one runs. The PID is written by the first shell of the
 * exec chain (it survives the execs). Order matters: `ip netns exec` first (it remounts /sys and
 * binds the /etc/netns overlays), then `unshare` copies that mount namespace into a private one.
 */
export async function ensureHolder(ip: string, name: string, i: number): Promise<{ pid: number; started: boolean }> {
  const existing = holderPid(name, i);
  if (existing) return { pid: existing, started: false };
  const ns = hostNs(name, i);
  await stopHolders(name, i); // a stale one (lost its files) would keep old mounts alive
  const pidFile = holderPidFile(name, i);
  await rm(pidFile, { force: true });
  const script = `exec </dev/null >/dev/null 2>&1; echo $$ > "$1"; exec "$2" netns exec "$3" unshare --mount --uts --propagation private bash -c 'exec -a "$0" sleep infinity' "$4"`;
  await runLocalOk('setsid', ['-f', 'sh', '-c', script, 'holder', pidFile, ip, ns, holderTitle(ns)]);
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (pid > 1 && looksLikeHolder(pid, ns)) {
      const ino = nsInodes(pid);
      if (ino.mnt !== inode('/proc/self/ns/mnt')) {
        await writeFile(holderNsFile(name, i), JSON.stringify(ino) + '\n');
        return { pid, started: true };
      }
    }
    await delay(5);
  }
  throw new PlayError(`lab: the namespace holder of ${ns} did not start within 10 s`);
}

/** Every holder of lab `name` (or only of host i), found by title: PID files may be lost. */
export async function findHolders(name: string, i?: number): Promise<number[]> {
  const want = i === undefined ? new RegExp(`^play-lab-holder:play-${name}-hv[0-9]+\0`) : null;
  const pids: number[] = [];
  for (const e of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    const t = cmdline(Number(e));
    if (!t) continue;
    if (want ? want.test(t) : t.startsWith(`${holderTitle(hostNs(name, i!))}\0`)) pids.push(Number(e));
  }
  return pids;
}

export async function stopHolders(name: string, i?: number): Promise<number> {
  const pids = await findHolders(name, i);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL'); // sleep holds nothing to flush
    } catch {
      /* gone */
    }
  }
  return pids.length;
}

/** nsenter argv that runs inside host i (its namespaces, cwd kept as `wd`). */
export function enterArgs(pid: number, wd = '/'): string[] {
  return ['-t', String(pid), '-n', '-m', '-u', `--wd=${wd}`];
}

export interface HostExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Runs `cmd` with /bin/sh inside host i, directly (no ssh). For the lab's own work and tests. */
export function execInHost(name: string, i: number, cmd: string, opts: { stdin?: string; wd?: string; timeoutMs?: number } = {}): Promise<HostExecResult> {
  const pid = holderPid(name, i);
  if (!pid) return Promise.reject(new PlayError(`lab ${name}: host hv${i} has no running namespace holder: run \`play lab up\` again`));
  return new Promise((resolve, reject) => {
    const child = execFile('nsenter', [...enterArgs(pid, opts.wd), '/bin/sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: opts.timeoutMs ?? 0 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number' && !err.killed) return reject(err);
      resolve({ stdout, stderr, code: err ? (typeof err.code === 'number' ? err.code : 124) : 0 });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.stdin ?? '');
  });
}

export async function execInHostOk(name: string, i: number, cmd: string, opts: { stdin?: string; wd?: string; timeoutMs?: number } = {}): Promise<string> {
  const r = await execInHost(name, i, cmd, opts);
  if (r.code !== 0) throw new PlayError(`lab ${name} hv${i}: \`${cmd}\` failed with exit code ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
