// `play lab up --libvirt`: every lab host becomes a real libvirt host. Inside the host's holder
// namespaces (every lab host has these): private /run/libvirt, /var/{lib,cache,log}/libvirt and
// /etc/hosts (bind mounts of directories under .lab/<name>/hvN/libvirt) and its hostname; with
// --libvirt also virtlogd and libvirtd -l (TLS on eth1) and /etc/init.d/libvirtd.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { PlayError } from '../errors.js';
import { shQuote } from '../connection/quote.js';
import { runLocalOk } from './exec.js';
import { ensureQemuWrapper } from './guest-image.js';
import { execInHost, execInHostOk, holderPid } from './holder.js';
import { PKI, hostsFile, libvirtdConf, libvirtdInitScript, withLabQemuConf } from './libvirt-config.js';
import { hostNs } from './names.js';
import type { LabHost, LabInfo } from './types.js';

const PRIVATE_DIRS = ['run', 'lib', 'cache', 'log'] as const;
const TARGET: Record<(typeof PRIVATE_DIRS)[number], string> = {
  run: '/run/libvirt', lib: '/var/lib/libvirt', cache: '/var/cache/libvirt', log: '/var/log/libvirt',
};
const privateDir = (h: LabHost): string => join(h.dir, 'libvirt');
const etc = (h: LabHost, ...p: string[]): string => join('/etc/netns', h.ns, ...p);

/** Runs fn on each item with at most `limit` at once (2 cores: RSA keys and QEMU probes are CPU-bound). */
export async function bounded<T>(limit: number, items: T[], fn: (item: T) => Promise<void>): Promise<void> {
  const run = pLimit(limit);
  await Promise.all(items.map((item) => run(() => fn(item))));
}

const RSA = ['-newkey', 'rsa:2048', '-nodes'];

async function ensureRsaCa(openssl: string, info: LabInfo): Promise<string> {
  const ca = join(info.dir, 'ca-rsa');
  if (existsSync(join(ca, 'ca-cert.pem')) && existsSync(join(ca, 'ca-key.pem'))) return ca;
  await mkdir(ca, { recursive: true, mode: 0o700 });
  await runLocalOk(openssl, [
    'req', '-x509', ...RSA, '-keyout', join(ca, 'ca-key.pem'), '-out', join(ca, 'ca-cert.pem'), '-days', '3650',
    '-subj', `/CN=play lab ${info.name} libvirt CA`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  return ca;
}

/**
 * One RSA 2048 key and certificate per host, for both roles (libvirtd's TLS listener, the client
 * side under --p2p, QEMU's migration TLS): ECDSA keys make `libvirtd -l` refuse to start
 * ("usage does not permit key encipherment"). The eth1 address is the SAN libvirt and QEMU check.
 */
async function issueHostCert(openssl: string, ca: string, h: LabHost): Promise<void> {
  const marker = etc(h, 'pki', 'libvirt', '.play-lab-rsa');
  if (existsSync(marker)) return;
  const work = join(h.dir, 'cert-work');
  await mkdir(work, { recursive: true, mode: 0o700 });
  const key = join(work, 'key.pem');
  const cert = join(work, 'cert.pem');
  const ext = join(work, 'ext');
  await writeFile(ext, `subjectAltName=IP:${h.migrationIp},DNS:${h.name}\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nbasicConstraints=CA:FALSE\n`);
  await runLocalOk(openssl, ['req', ...RSA, '-keyout', key, '-out', join(work, 'csr'), '-subj', `/O=play lab/CN=${h.migrationIp}`]);
  await runLocalOk(openssl, ['x509', '-req', '-in', join(work, 'csr'), '-CA', join(ca, 'ca-cert.pem'), '-CAkey', join(ca, 'ca-key.pem'), '-CAcreateserial', '-out', cert, '-days', '825', '-extfile', ext]);
  const caCert = join(ca, 'ca-cert.pem');
  const put = async (src: string, dst: string, mode: number) => {
    await mkdir(join(dst, '..'), { recursive: true });
    await copyFile(src, dst);
    await chmod(dst, mode);
  };
  const pki = (p: string) => etc(h, 'pki', p.replace(/^\/etc\/pki\//, ''));
  await put(caCert, pki(PKI.caFile), 0o644);
  await put(cert, pki(PKI.certFile), 0o644);
  await put(key, pki(PKI.keyFile), 0o600);
  for (const [src, name, mode] of [[caCert, 'cacert.pem', 0o644], [cert, 'clientcert.pem', 0o644], [key, 'clientkey.pem', 0o600]] as const) await put(src, join(pki(PKI.clientDir), name), mode);
  const mig = pki(PKI.migrateDir);
  for (const [src, name, mode] of [[caCert, 'ca-cert.pem', 0o644], [cert, 'server-cert.pem', 0o644], [key, 'server-key.pem', 0o600], [cert, 'client-cert.pem', 0o644], [key, 'client-key.pem', 0o600]] as const) await put(src, join(mig, name), mode);
  await rm(work, { recursive: true, force: true });
  await writeFile(marker, 'RSA 2048 lab certificates\n');
}

export async function ensureLibvirtCerts(openssl: string, info: LabInfo): Promise<void> {
  const ca = await ensureRsaCa(openssl, info);
  await bounded(2, info.hosts, (h) => issueHostCert(openssl, ca, h));
}

/**
 * Every lab host, libvirt or not: bind mounts and hostname inside the holder's mount/UTS
 * namespaces; repeat-safe. Private (empty unless `--libvirt` starts daemons there) libvirt
 * directories, so a plain lab host never sees the machine's own libvirtd socket and its facts say
 * it runs no libvirt daemon; an empty /run/systemd on a machine run by systemd, so a lab host
 * manages its services through its own /etc/init.d, never through the machine's systemd.
 */
export async function ensureHostMounts(info: LabInfo, h: LabHost): Promise<void> {
  const dir = privateDir(h);
  for (const d of [...PRIVATE_DIRS, 'no-systemd']) await mkdir(join(dir, d), { recursive: true, mode: 0o755 });
  await writeFile(join(dir, 'hosts'), hostsFile(info.hosts, h.name));
  const binds = [...PRIVATE_DIRS.map((d) => [join(dir, d), TARGET[d]]), [join(dir, 'hosts'), '/etc/hosts']];
  const script = [
    'set -e',
    'b() { findmnt -n --target "$2" -o TARGET | grep -qx "$2" || { [ -e "$2" ] || mkdir -p "$2"; mount --bind "$1" "$2"; }; }',
    ...binds.map(([src, dst]) => `b ${shQuote(src)} ${shQuote(dst)}`),
    `if [ -d /run/systemd ]; then b ${shQuote(join(dir, 'no-systemd'))} /run/systemd; fi`,
    `hostname ${shQuote(h.name)}`,
  ].join('\n');
  await execInHostOk(info.name, h.index, script);
}

async function writeConfigs(info: LabInfo, h: LabHost): Promise<boolean> {
  const dir = etc(h, 'libvirt');
  await mkdir(dir, { recursive: true });
  let changed = false;
  const write = async (file: string, text: string) => {
    const p = join(dir, file);
    if (existsSync(p) && (await readFile(p, 'utf8')) === text) return;
    await writeFile(p, text);
    changed = true;
  };
  await write('libvirtd.conf', libvirtdConf(info.name, h.name, h.migrationIp));
  const qemu = join(dir, 'qemu.conf');
  await write('qemu.conf', withLabQemuConf(existsSync(qemu) ? await readFile(qemu, 'utf8') : '', h.migrationIp));
  const initd = etc(h, 'init.d');
  await mkdir(initd, { recursive: true });
  await writeFile(join(initd, 'libvirtd'), libvirtdInitScript(), { mode: 0o755 });
  return changed;
}

function isDaemonOf(pid: number, h: LabHost, daemon: string): boolean {
  try {
    if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== daemon) return false;
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (st.slice(st.lastIndexOf(')') + 2).startsWith('Z')) return false;
    return statSync(`/proc/${pid}/ns/net`).ino === statSync(join('/run/netns', h.ns)).ino;
  } catch {
    return false;
  }
}

/**
 * The daemon's PID: from the host's private /run/libvirt, or (PID file lost in a crash) the one
 * process of that name inside the host's network namespace. Only ever a process in that namespace.
 */
export function daemonPid(h: LabHost, daemon: 'libvirtd' | 'virtlogd'): number | null {
  let pid = NaN;
  try {
    pid = Number(readFileSync(join(privateDir(h), 'run', `${daemon}.pid`), 'utf8').trim());
  } catch {
    /* lost: scan */
  }
  if (pid > 1 && isDaemonOf(pid, h, daemon)) return pid;
  return pidsInNetnsSync(h.ns).find((p) => isDaemonOf(p, h, daemon)) ?? null;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function killPid(pid: number, ms = 5000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (st.slice(st.lastIndexOf(')') + 2).startsWith('Z')) return; // killed daemons linger as zombies
    } catch {
      return;
    }
    await delay(20);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

// QEMU's capabilities, probed once by the first host and copied into every later host's private
// cache: libvirt re-validates each file (QEMU binary ctime, libvirt version, kernel, CPU
// microcode) and re-probes if anything differs, so a stale copy costs only the probe it saves.
const CAPS_CACHE = '/var/cache/play-lab/qemu-capabilities';
const hostCaps = (h: LabHost): string => join(privateDir(h), 'cache', 'qemu', 'capabilities');

async function seedCapabilities(h: LabHost): Promise<void> {
  if (!existsSync(CAPS_CACHE) || existsSync(hostCaps(h))) return;
  await mkdir(hostCaps(h), { recursive: true });
  for (const f of await readdir(CAPS_CACHE)) if (f.endsWith('.xml')) await copyFile(join(CAPS_CACHE, f), join(hostCaps(h), f));
}

async function saveCapabilities(h: LabHost): Promise<void> {
  if (!existsSync(hostCaps(h))) return;
  if (existsSync(CAPS_CACHE)) {
    // A probe the cache lacks (the guests' QEMU wrapper, new since the cache was made): add it.
    for (const f of await readdir(hostCaps(h))) {
      if (!f.endsWith('.xml') || existsSync(join(CAPS_CACHE, f))) continue;
      const tmp = join(CAPS_CACHE, `.${f}.tmp-${process.pid}`);
      await copyFile(join(hostCaps(h), f), tmp);
      await rename(tmp, join(CAPS_CACHE, f));
    }
    return;
  }
  const tmp = `${CAPS_CACHE}.tmp-${process.pid}`;
  await mkdir(tmp, { recursive: true });
  for (const f of await readdir(hostCaps(h))) if (f.endsWith('.xml')) await copyFile(join(hostCaps(h), f), join(tmp, f));
  await rename(tmp, CAPS_CACHE).catch(() => rm(tmp, { recursive: true, force: true })); // another lab won the race
}

/** Starts what is not running (or restarts libvirtd after a config change), then warms its QEMU probe. */
async function ensureDaemons(info: LabInfo, h: LabHost, restart: boolean): Promise<void> {
  await seedCapabilities(h);
  if (!daemonPid(h, 'virtlogd')) await execInHostOk(info.name, h.index, 'virtlogd -d -p /run/libvirt/virtlogd.pid');
  const running = daemonPid(h, 'libvirtd');
  if (running && restart) await killPid(running);
  if (!running || restart) {
    // Without -p both hosts would fight over /run/libvirtd.pid; -l: the TLS listener on eth1.
    const r = await execInHost(info.name, h.index, 'libvirtd -d -l -p /run/libvirt/libvirtd.pid');
    if (r.code !== 0) throw new PlayError(`lab ${info.name} ${h.name}: libvirtd did not start (exit ${r.code}): ${r.stderr.trim()} ${await logTail(h)}`);
  }
  // A fresh daemon probes QEMU once (~4 s): pay it now, not in the first test or migration.
  const end = Date.now() + 60_000;
  for (;;) {
    const r = await execInHost(info.name, h.index, 'virsh -c qemu:///system domcapabilities --virttype qemu >/dev/null');
    if (r.code === 0) {
      // Lab guests run under the QEMU wrapper (guest-image.ts): libvirt probes it separately.
      const wrapper = await ensureQemuWrapper().catch(() => null);
      if (wrapper) await execInHost(info.name, h.index, `virsh -c qemu:///system domcapabilities --virttype qemu --emulatorbin ${shQuote(wrapper)} >/dev/null`);
      return saveCapabilities(h);
    }
    if (Date.now() > end) throw new PlayError(`lab ${info.name} ${h.name}: libvirtd does not answer: ${r.stderr.trim()} ${await logTail(h)}`);
    await delay(200);
  }
}

async function logTail(h: LabHost): Promise<string> {
  const log = join(privateDir(h), 'log', 'libvirtd.log');
  if (!existsSync(log)) return '';
  return `(log ${log}: ${(await readFile(log, 'utf8')).trim().split('\n').slice(-3).join(' | ')})`;
}

/** After a qemu.conf/libvirtd.conf change (libvirtd reads them only at start); running guests survive. */
export async function restartLibvirtd(info: LabInfo, h: LabHost): Promise<void> {
  await ensureDaemons(info, h, true);
}

/** After ensureHostMounts: the host's libvirt configuration, init script and daemons. */
export async function upLibvirtHost(info: LabInfo, h: LabHost): Promise<void> {
  const changed = await writeConfigs(info, h);
  await ensureDaemons(info, h, changed);
}

/**
 * Destroys the host's guests, then stops its daemons by PID, then anything else still inside its
 * network namespace (a crashed run's QEMU or sessions). Tolerates a missing holder or daemon.
 */
export async function downLibvirtHost(name: string, h: LabHost): Promise<void> {
  if (holderPid(name, h.index) && daemonPid(h, 'libvirtd')) {
    const list = await execInHost(name, h.index, 'virsh -c qemu:///system list --name', { timeoutMs: 15_000 });
    const doms = list.code === 0 ? list.stdout.split('\n').map((l) => l.trim()).filter(Boolean) : [];
    await Promise.all(doms.map((d) => execInHost(name, h.index, `virsh -c qemu:///system destroy ${shQuote(d)}`, { timeoutMs: 15_000 })));
  }
  for (const d of ['libvirtd', 'virtlogd'] as const) {
    const pid = daemonPid(h, d);
    if (pid) await killPid(pid);
  }
}

/** PIDs whose network namespace is `ns` (by inode): everything a lab host runs. */
export async function pidsInNetns(ns: string): Promise<number[]> {
  return pidsInNetnsSync(ns);
}

function pidsInNetnsSync(ns: string): number[] {
  let ino: number;
  try {
    ino = statSync(join('/run/netns', ns)).ino;
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(e)) continue;
    try {
      if (statSync(`/proc/${e}/ns/net`).ino === ino) pids.push(Number(e));
    } catch {
      /* exited */
    }
  }
  return pids;
}

/** Last resort: everything left in the lab host's namespace but `keep` (never anything outside it). */
export async function killNetnsProcesses(name: string, i: number, keep?: number): Promise<number> {
  const pids = (await pidsInNetns(hostNs(name, i))).filter((p) => p !== keep);
  await Promise.all(pids.map((p) => killPid(p, 3000)));
  return pids.length;
}
