// Guests on a libvirt lab, and commands inside lab hosts: the API the migration module's tests
// and `play lab guest|link` use.
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { shQuote } from '../connection/quote.js';
import { ensureGuestImage } from './guest-image.js';
import { GUEST_DEFAULTS, defaultWorkingSet, checkGuestName, checkGuestSizes, domainXml, parseSerialLog, type SerialLog } from './guest-spec.js';
import { execInHost, execInHostOk, type HostExecResult } from './holder.js';
import type { LabHost, LabInfo } from './types.js';
import { restartLibvirtd } from './libvirt.js';

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function labHost(lab: LabInfo, host: string | LabHost): LabHost {
  const name = typeof host === 'string' ? host : host.name;
  const h = lab.hosts.find((x) => x.name === name);
  if (!h) throw new PlayError(`lab ${lab.name} has no host ${name} (it has ${lab.hosts.map((x) => x.name).join(', ')})`);
  return h;
}

/** Runs `cmd` (/bin/sh) inside a lab host: its network, mount and UTS namespaces. */
export function hostExec(lab: LabInfo, host: string | LabHost, cmd: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<HostExecResult> {
  return execInHost(lab.name, labHost(lab, host).index, cmd, opts);
}

export function hostExecOk(lab: LabInfo, host: string | LabHost, cmd: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<string> {
  return execInHostOk(lab.name, labHost(lab, host).index, cmd, opts);
}

const virsh = (args: string) => `virsh -q -c qemu:///system ${args}`;

/** Shared by every host (the lab's directory is on the one root filesystem): a migrated guest keeps appending to it. */
export const guestSerialPath = (lab: LabInfo, dom: string): string => join(lab.dir, 'guests', `${checkGuestName(dom)}.serial.log`);

export async function guestSerialLog(lab: LabInfo, dom: string): Promise<string> {
  const p = guestSerialPath(lab, dom);
  return existsSync(p) ? readFile(p, 'utf8') : '';
}

export interface LabGuestOptions {
  name: string;
  on: string;
  memoryMib?: number;
  dirtyRateMib?: number;
  workingSetMib?: number;
  /** Default true: defined (virsh define + start), as VMs on a real hypervisor are; false: transient (virsh create). */
  persistent?: boolean;
  /** Wait until the dirtier ticks (default true). */
  wait?: boolean;
}

export interface LabGuest {
  name: string;
  host: string;
  serialLog: string;
  /** From `virsh start` to the first tick of the dirtier. */
  bootMs: number | null;
}

export async function labGuest(lab: LabInfo, opts: LabGuestOptions): Promise<LabGuest> {
  if (!lab.libvirt) throw new PlayError(`lab ${lab.name} has no libvirt hosts: bring it up with \`play lab up --libvirt\``);
  const name = checkGuestName(opts.name);
  const h = labHost(lab, opts.on);
  const memoryMib = opts.memoryMib ?? GUEST_DEFAULTS.memoryMib;
  const dirtyRateMib = opts.dirtyRateMib ?? GUEST_DEFAULTS.dirtyRateMib;
  const workingSetMib = opts.workingSetMib ?? defaultWorkingSet(memoryMib);
  checkGuestSizes(memoryMib, dirtyRateMib, workingSetMib);
  const where = await guestLocation(lab, name);
  if (where.length) throw new PlayError(`guest ${name} already runs on ${where.join(', ')}`);
  const image = await ensureGuestImage();
  const serialLog = guestSerialPath(lab, name);
  await mkdir(join(lab.dir, 'guests'), { recursive: true });
  await writeFile(serialLog, ''); // a new guest: a fresh log, so one boot means one boot
  const xml = domainXml({ name, memoryMib, dirtyRateMib, workingSetMib, kernel: image.kernel, initrd: image.initrd, emulator: image.emulator, serialLog });
  const xmlPath = join(lab.dir, 'guests', `${name}.xml`);
  await writeFile(xmlPath, xml);
  const t0 = Date.now();
  if (opts.persistent === false) await hostExecOk(lab, h, virsh(`create ${shQuote(xmlPath)}`));
  else await hostExecOk(lab, h, `${virsh(`define ${shQuote(xmlPath)}`)} >/dev/null && ${virsh(`start ${shQuote(name)}`)}`);
  let bootMs: number | null = null;
  if (opts.wait !== false) {
    const end = Date.now() + 120_000;
    for (let n = 1; parseSerialLog(await guestSerialLog(lab, name)).ticks.length === 0; n++) {
      const dead = n % 10 === 0 && !(await guestLocation(lab, name)).includes(h.name);
      if (dead || Date.now() > end) {
        const text = await guestSerialLog(lab, name);
        const words = parseSerialLog(text).lastWords;
        const tail = (words.length ? words : text.trim().split('\n').slice(-5)).join(' | ');
        throw new PlayError(`guest ${name} on ${h.name} ${dead ? 'stopped' : 'did not start its dirtier within 120 s'} before its dirtier ran; serial log ${serialLog}: ${tail}`);
      }
      await delay(100);
    }
    bootMs = Date.now() - t0;
  }
  return { name, host: h.name, serialLog, bootMs };
}

/** Hosts on which the domain is running (a correct lab has at most one). */
export async function guestLocation(lab: LabInfo, dom: string): Promise<string[]> {
  checkGuestName(dom);
  const states = await Promise.all(lab.hosts.map((h) => hostExec(lab, h, virsh(`domstate ${shQuote(dom)}`))));
  return lab.hosts.filter((_, i) => states[i].code === 0 && states[i].stdout.trim() === 'running').map((h) => h.name);
}

/** Hosts on which the domain is defined (persistent), running or not. */
export async function guestDefinedOn(lab: LabInfo, dom: string): Promise<string[]> {
  checkGuestName(dom);
  const r = await Promise.all(lab.hosts.map((h) => hostExec(lab, h, virsh('list --all --persistent --name'))));
  return lab.hosts.filter((_, i) => r[i].stdout.split('\n').map((l) => l.trim()).includes(dom)).map((h) => h.name);
}

/**
 * Tells the guest's dirtier a new rate through its serial pty. QEMU polls whether the pty is
 * connected once a second, so the pty is held open >1 s before and after writing. Resolves when
 * the guest has confirmed the rate on its serial log.
 */
export async function setDirtyRate(lab: LabInfo, host: string, dom: string, mibps: number): Promise<void> {
  if (!Number.isInteger(mibps) || mibps < 0 || mibps > 4096) throw new PlayError(`invalid dirty rate ${mibps}: use a whole number 0-4096 (MiB/s)`);
  checkGuestName(dom);
  const before = parseSerialLog(await guestSerialLog(lab, dom)).rateChanges.length;
  const tty = (await hostExecOk(lab, host, virsh(`ttyconsole ${shQuote(dom)}`))).trim();
  if (!/^\/dev\/pts\/[0-9]+$/.test(tty)) throw new PlayError(`guest ${dom} on ${host}: no serial pty (virsh ttyconsole said '${tty}')`);
  for (let attempt = 0; attempt < 3; attempt++) {
    await hostExecOk(lab, host, `exec 3<>${tty}; sleep 1.2; printf 'rate %s\\n' ${mibps} >&3; sleep 1.2; exec 3>&-`);
    const end = Date.now() + 3000;
    while (Date.now() < end) {
      const changes = parseSerialLog(await guestSerialLog(lab, dom)).rateChanges;
      if (changes.length > before && changes[changes.length - 1] === mibps) return;
      await delay(100);
    }
  }
  throw new PlayError(`guest ${dom} on ${host} did not confirm dirty rate ${mibps} MiB/s on its serial log`);
}

/** Restarts a lab host's libvirtd (by its PID) so it rereads qemu.conf; guests keep running. */
export async function labRestartLibvirtd(lab: LabInfo, host: string): Promise<void> {
  await restartLibvirtd(lab, labHost(lab, host));
}

export type { SerialLog };
