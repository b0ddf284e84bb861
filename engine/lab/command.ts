// `play lab up|down|status` for the CLI: prints lines, returns the exit code.
import { PlayError } from '../errors.js';
import { labDown, labStatus, labUp } from './lab.js';
import { DEFAULT_LAB } from './names.js';
import { ensureDebianPackages } from './packages.js';
import { LAB_PACKAGES, LIBVIRT_LAB_PACKAGES } from './requirements.js';
import { labGuest } from './guest.js';
import { labLink } from './link.js';
import { labLibvirtUri } from './libvirt-config.js';
import type { LabInfo } from './types.js';

function printHosts(info: LabInfo, print: (line: string) => void): void {
  for (const h of info.hosts) {
    print(`  ${h.name}  ssh root@${h.address}:${h.port}  netns ${h.ns}  eth1 ${h.migrationIp}/24${info.libvirt ? `  ${labLibvirtUri(h.migrationIp)}` : ''}`);
  }
}

export async function labCommand(
  action: 'up' | 'down' | 'status',
  opts: { hosts?: number; name?: string; octet?: number; install?: boolean; libvirt?: boolean },
  print: (line: string) => void,
): Promise<number> {
  const name = opts.name ?? DEFAULT_LAB;
  try {
    if (action === 'up') {
      await ensureDebianPackages(LAB_PACKAGES, 'play lab', { allowed: opts.install, log: print });
      if (opts.libvirt) await ensureDebianPackages(LIBVIRT_LAB_PACKAGES, 'play lab --libvirt', { allowed: opts.install, log: print });
      const t0 = Date.now();
      const info = await labUp({ name, hosts: opts.hosts, octet: opts.octet, libvirt: opts.libvirt });
      print(`lab ${name}: ${info.hosts.length} hosts up in ${Date.now() - t0} ms`);
      printHosts(info, print);
      print(`inventory: ${info.inventoryPath}`);
      print(`known_hosts: ${info.knownHostsPath}`);
      return 0;
    }
    if (action === 'down') {
      const r = await labDown(name);
      print(`lab ${name}: down (${r.sshdsStopped} sshd stopped, ${r.namespacesDeleted.length} namespaces deleted${r.inventoryRemoved ? `, removed ${r.inventoryRemoved}` : ''})`);
      return 0;
    }
    const s = await labStatus(name);
    if (!s.exists || !s.info) {
      print(`lab ${name}: not up`);
      return 1;
    }
    const healthy = s.hosts.filter((h) => h.netns && h.sshdPid && h.holderPid && h.libvirtdPid !== null).length;
    print(`lab ${name}: ${healthy}/${s.hosts.length} hosts up (octet ${s.info.octet})`);
    for (const h of s.hosts) {
      let state = !h.netns ? 'netns missing' : h.sshdPid ? `sshd pid ${h.sshdPid}` : 'sshd stopped';
      state += h.holderPid ? `, holder pid ${h.holderPid}` : ', holder missing';
      if (h.libvirtdPid !== undefined) state += h.libvirtdPid ? `, libvirtd pid ${h.libvirtdPid}` : ', libvirtd stopped';
      print(`  ${h.name}  ${h.address}:${h.port}  ${h.ns}  ${state}`);
    }
    print(`inventory: ${s.info.inventoryPath}`);
    return healthy === s.hosts.length ? 0 : 1;
  } catch (e) {
    if (e instanceof PlayError) {
      print(`error: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

async function upLab(name: string) {
  const s = await labStatus(name);
  if (!s.exists || !s.info) throw new PlayError(`lab ${name} is not up: run \`play lab up --libvirt\` first`);
  return s.info;
}

/** `play lab guest NAME --on HOST ...` */
export async function labGuestCommand(
  opts: { name?: string; guest: string; on: string; memoryMib?: number; dirtyRateMib?: number; workingSetMib?: number; transient?: boolean; install?: boolean },
  print: (line: string) => void,
): Promise<number> {
  try {
    await ensureDebianPackages(LIBVIRT_LAB_PACKAGES, 'play lab guest', { allowed: opts.install, log: print });
    const info = await upLab(opts.name ?? DEFAULT_LAB);
    const g = await labGuest(info, { name: opts.guest, on: opts.on, memoryMib: opts.memoryMib, dirtyRateMib: opts.dirtyRateMib, workingSetMib: opts.workingSetMib, persistent: !opts.transient });
    print(`guest ${g.name} running on ${g.host} (${opts.transient ? 'transient' : 'persistent'}), booted in ${g.bootMs} ms; serial log ${g.serialLog}`);
    return 0;
  } catch (e) {
    if (e instanceof PlayError) return (print(`error: ${e.message}`), 1);
    throw e;
  }
}

/** `play lab link --rate MBIT|none` */
export async function labLinkCommand(opts: { name?: string; rate: string }, print: (line: string) => void): Promise<number> {
  try {
    const rate = opts.rate === 'none' ? null : Number(opts.rate);
    if (rate !== null && !/^[0-9]+(\.[0-9]+)?$/.test(opts.rate)) throw new PlayError(`invalid --rate '${opts.rate}': a number of Mbit/s, or none`);
    const info = await upLab(opts.name ?? DEFAULT_LAB);
    await labLink(info, { rateMbit: rate });
    print(rate === null ? `lab ${info.name}: eth1 unlimited` : `lab ${info.name}: eth1 egress limited to ${rate} Mbit/s on every host (tbf)`);
    return 0;
  } catch (e) {
    if (e instanceof PlayError) return (print(`error: ${e.message}`), 1);
    throw e;
  }
}
