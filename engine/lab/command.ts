// `play lab up|down|status` for the CLI: prints lines, returns the exit code.
import { PlayError } from '../errors.js';
import { labDown, labStatus, labUp } from './lab.js';
import { DEFAULT_LAB } from './names.js';
import { ensureDebianPackages } from './packages.js';
import { LAB_PACKAGES } from './requirements.js';
import type { LabInfo } from './types.js';

function printHosts(info: LabInfo, print: (line: string) => void): void {
  for (const h of info.hosts) print(`  ${h.name}  ssh root@${h.address}:${h.port}  netns ${h.ns}  eth1 ${h.migrationIp}/24`);
}

export async function labCommand(
  action: 'up' | 'down' | 'status',
  opts: { hosts?: number; name?: string; octet?: number; install?: boolean },
  print: (line: string) => void,
): Promise<number> {
  const name = opts.name ?? DEFAULT_LAB;
  try {
    if (action === 'up') {
      await ensureDebianPackages(LAB_PACKAGES, 'play lab', { allowed: opts.install, log: print });
      const t0 = Date.now();
      const info = await labUp({ name, hosts: opts.hosts, octet: opts.octet });
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
    const healthy = s.hosts.filter((h) => h.netns && h.sshdPid).length;
    print(`lab ${name}: ${healthy}/${s.hosts.length} hosts up (octet ${s.info.octet})`);
    for (const h of s.hosts) {
      const state = !h.netns ? 'netns missing' : h.sshdPid ? `sshd pid ${h.sshdPid}` : 'sshd stopped';
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
