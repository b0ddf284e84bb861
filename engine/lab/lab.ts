// `play lab up|down|status`: test hosts as network namespaces, each behind its own real sshd.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PlayError } from '../errors.js';
import { INVENTORY_HEADER, renderInventory } from './inventory.js';
import { seedHost } from './seed.js';
import { runLocalOk } from './exec.js';
import {
  DEFAULT_LAB, checkHostCount, checkLabName, checkOctet, defaultInventoryPath, hostDir, hostNs,
  labDir, migrationIp, ownsNamespace, sshAddress, stateFile, switchNs,
} from './names.js';
import { deleteNetns, ensureHostNet, ensureSwitch, listNetns } from './network.js';
import { checkRequirements, checkRootAndIp } from './requirements.js';
import {
  authorizedKeysPath, ensureHostKey, killAndWait, sshdConfig, sshdPaths, sshdRunning, sshdsUnder,
  startSshd, stopSshd, wrapperPath,
} from './sshd.js';
import type { LabHost, LabInfo, LabStatus } from './types.js';
import { wrapperScript } from './wrapper.js';
import { ensureHolder, holderPid, holderPidFile, stopHolders } from './holder.js';
import { ensureRebootFacility, rebootScript, rebootScriptPath } from './reboot.js';
import { bounded, daemonPid, downLibvirtHost, ensureHostMounts, ensureLibvirtCerts, killNetnsProcesses, upLibvirtHost } from './libvirt.js';

export interface LabUpOptions {
  name?: string;
  hosts?: number;
  octet?: number;
  /** Inventory path; default inventories/lab.yml for lab 'lab', else .lab/<name>/inventory.yml. */
  writeInventory?: string;
  /** Every host a libvirt host (libvirtd -l + virtlogd inside it). Default: as the lab was. */
  libvirt?: boolean;
}

export function labInfo(name: string, octet: number, hosts: number, inventoryPath: string, libvirt = false): LabInfo {
  const dir = labDir(name);
  const list: LabHost[] = [];
  for (let i = 1; i <= hosts; i++) {
    const p = sshdPaths(name, i);
    list.push({
      name: `hv${i}`, index: i, ns: hostNs(name, i), address: sshAddress(octet, i), port: 22,
      migrationIp: migrationIp(octet, i), dir: p.dir, pidFile: p.pidFile, sshdLog: p.log, commandsLog: p.commandsLog,
    });
  }
  return {
    name, octet, dir, switchNs: switchNs(name), hosts: list, inventoryPath, libvirt,
    knownHostsPath: join(dir, 'known_hosts'), keyPath: join(dir, 'id_ed25519'),
  };
}

interface LabState {
  name: string;
  octet: number;
  hosts: number;
  inventoryPath: string;
  libvirt?: boolean;
}

async function readState(name: string): Promise<LabState | null> {
  try {
    return JSON.parse(await readFile(stateFile(name), 'utf8')) as LabState;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** Write-then-rename: readers (ssh, tests) never see a half-written file. */
async function writeAtomic(path: string, content: string, mode = 0o644): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

async function writeIfChanged(path: string, content: string, mode = 0o644): Promise<boolean> {
  const old = existsSync(path) ? await readFile(path, 'utf8') : null;
  if (old === content) {
    await chmod(path, mode);
    return false;
  }
  await writeAtomic(path, content, mode);
  return true;
}

/** Host indexes of lab `name` that exist as namespaces or state directories. */
async function existingHostIndexes(name: string, netns: string[]): Promise<number[]> {
  const found = new Set<number>();
  for (const ns of netns) {
    const m = ownsNamespace(name, ns) ? /-hv([0-9]+)$/.exec(ns) : null;
    if (m) found.add(Number(m[1]));
  }
  const dir = labDir(name);
  if (existsSync(dir)) for (const e of await readdir(dir)) if (/^hv[0-9]+$/.test(e)) found.add(Number(e.slice(2)));
  return [...found].sort((a, b) => a - b);
}

/** Guests and daemons first, then whatever is left in the host's namespace, then the holder. */
async function stopHostProcesses(name: string, i: number): Promise<void> {
  const h = labInfo(name, 0, i, '').hosts[i - 1];
  await downLibvirtHost(name, h);
  await killNetnsProcesses(name, i);
  await stopHolders(name, i);
}

async function removeHost(ip: string, name: string, i: number, netns: Set<string>): Promise<void> {
  await stopSshd(sshdPaths(name, i));
  await stopHostProcesses(name, i);
  await deleteNetns(ip, hostNs(name, i), netns);
  await rm(hostDir(name, i), { recursive: true, force: true });
  await rm(wrapperPath(name, i), { force: true });
  await rm(rebootScriptPath(name, i), { force: true });
}

async function upHost(tools: { sshd: string; sshKeygen: string; ip: string }, name: string, octet: number, i: number, netns: Set<string>): Promise<void> {
  const p = sshdPaths(name, i);
  await mkdir(p.dir, { recursive: true, mode: 0o700 });
  await ensureHostKey(tools.sshKeygen, p.hostKey);
  await writeIfChanged(wrapperPath(name, i), wrapperScript(hostNs(name, i), p.commandsLog, holderPidFile(name, i)), 0o755);
  const configChanged = await writeIfChanged(p.config, sshdConfig(name, octet, i), 0o600);
  await ensureHostNet(tools.ip, name, octet, i, netns);
  const holder = await ensureHolder(tools.ip, name, i);
  // A new holder means new mount namespaces: the old one's daemons and guests are unreachable
  // (their sockets are in a mount namespace nobody can enter), so they go.
  if (holder.started) await killNetnsProcesses(name, i, holder.pid);
  await writeIfChanged(rebootScriptPath(name, i), rebootScript(name, i, tools.sshd, p), 0o755);
  await ensureRebootFacility(name, i);
  if (configChanged || !(await sshdRunning(p))) await startSshd(tools.sshd, p);
}

/** Creates (or completes, or repairs) lab `name`; running hosts are left running. */
export async function labUp(opts: LabUpOptions = {}): Promise<LabInfo> {
  const name = checkLabName(opts.name ?? DEFAULT_LAB);
  const hosts = checkHostCount(opts.hosts ?? 3);
  const octet = checkOctet(opts.octet ?? 10);
  const tools = checkRequirements();
  const old = await readState(name);
  // Another octet means other addresses everywhere: start over rather than patch.
  if (old && old.octet !== octet) await labDown(name);
  const libvirt = opts.libvirt ?? old?.libvirt ?? false;
  const info = labInfo(name, octet, hosts, opts.writeInventory ?? old?.inventoryPath ?? defaultInventoryPath(name), libvirt);
  // Traversable (not listable) by normal logins: sshd reads authorized_keys and runs the
  // wrapper as the user. Keys and logs stay in the 0700 host directories.
  await mkdir(join(info.dir, 'bin'), { recursive: true });
  for (const d of [dirname(info.dir), info.dir]) await chmod(d, 0o711);
  await chmod(join(info.dir, 'bin'), 0o755);
  if (!existsSync(info.keyPath) || !existsSync(`${info.keyPath}.pub`)) {
    await rm(info.keyPath, { force: true });
    await rm(`${info.keyPath}.pub`, { force: true });
    await runLocalOk(tools.sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', `play-lab-${name}`, '-f', info.keyPath]);
  }
  await writeIfChanged(authorizedKeysPath(name), await readFile(`${info.keyPath}.pub`, 'utf8'), 0o644);

  const netns = new Set(await listNetns(tools.ip));
  for (const i of await existingHostIndexes(name, [...netns])) if (i > hosts) await removeHost(tools.ip, name, i, netns);
  await ensureSwitch(tools.ip, name, netns);
  await Promise.all(info.hosts.map((h) => upHost(tools, name, octet, h.index, netns)));
  for (const h of info.hosts) await seedHost(tools.openssl, info, h);
  await bounded(2, info.hosts, (h) => ensureHostMounts(info, h));
  if (libvirt) {
    await ensureLibvirtCerts(tools.openssl, info);
    await bounded(2, info.hosts, (h) => upLibvirtHost(info, h));
  }

  const known: string[] = [];
  for (const h of info.hosts) {
    const [type, blob] = (await readFile(join(h.dir, 'ssh_host_ed25519_key.pub'), 'utf8')).trim().split(/\s+/);
    known.push(`${h.address} ${type} ${blob}`); // port 22: OpenSSH writes the bare address
  }
  await writeIfChanged(info.knownHostsPath, known.join('\n') + '\n');
  await writeIfChanged(info.inventoryPath, renderInventory(info));
  const state: LabState = { name, octet, hosts, inventoryPath: info.inventoryPath, libvirt };
  await writeIfChanged(stateFile(name), JSON.stringify(state, null, 2) + '\n');
  return info;
}

export interface LabDownResult {
  sshdsStopped: number;
  namespacesDeleted: string[];
  inventoryRemoved?: string;
}

/** Removes everything lab `name` made: its sshds, namespaces, /etc/netns overlays, state, inventory. */
export async function labDown(name: string = DEFAULT_LAB): Promise<LabDownResult> {
  checkLabName(name);
  const ip = checkRootAndIp();
  const state = await readState(name);
  const dir = labDir(name);
  // By config path, not by PidFile alone: a crashed run may have lost its PidFiles.
  const pids = await sshdsUnder(dir);
  await Promise.all(pids.map(killAndWait));
  const netns = new Set(await listNetns(ip));
  await Promise.all((await existingHostIndexes(name, [...netns])).map((i) => stopHostProcesses(name, i)));
  await stopHolders(name);
  const ours = [...netns].filter((ns) => ownsNamespace(name, ns));
  await Promise.all(ours.map((ns) => deleteNetns(ip, ns, netns)));
  if (existsSync('/etc/netns')) {
    for (const e of await readdir('/etc/netns')) if (ownsNamespace(name, e)) await rm(join('/etc/netns', e), { recursive: true, force: true });
  }
  const result: LabDownResult = { sshdsStopped: pids.length, namespacesDeleted: ours };
  const inv = state?.inventoryPath ?? defaultInventoryPath(name);
  // Only an inventory we wrote: a user's file at that path stays.
  if (existsSync(inv) && (await readFile(inv, 'utf8')).startsWith(INVENTORY_HEADER)) {
    await rm(inv, { force: true });
    result.inventoryRemoved = inv;
  }
  await rm(dir, { recursive: true, force: true });
  return result;
}

export async function labStatus(name: string = DEFAULT_LAB): Promise<LabStatus> {
  checkLabName(name);
  const ip = checkRootAndIp();
  const state = await readState(name);
  if (!state) return { name, exists: false, hosts: [] };
  const info = labInfo(name, state.octet, state.hosts, state.inventoryPath, state.libvirt);
  const netns = new Set(await listNetns(ip));
  const hosts = await Promise.all(
    info.hosts.map(async (h) => ({
      ...h, netns: netns.has(h.ns), sshdPid: await sshdRunning(sshdPaths(name, h.index)), holderPid: holderPid(name, h.index),
      ...(info.libvirt ? { libvirtdPid: daemonPid(h, 'libvirtd') } : {}),
    })),
  );
  return { name, exists: true, info, hosts };
}

async function hostPaths(name: string, i: number) {
  const state = await readState(checkLabName(name));
  if (!state) throw new PlayError(`lab ${name} is not up: run \`play lab up\` first`);
  if (!Number.isInteger(i) || i < 1 || i > state.hosts) throw new PlayError(`lab ${name} has no host hv${i} (it has hv1..hv${state.hosts})`);
  return sshdPaths(name, i);
}

/** Stops host i's sshd: new connections are refused, the namespace stays (unreachable-host tests). */
export async function stopHost(name: string, i: number): Promise<void> {
  await stopSshd(await hostPaths(name, i));
}

export async function startHost(name: string, i: number): Promise<void> {
  const p = await hostPaths(name, i);
  await startSshd(checkRequirements().sshd, p);
}
