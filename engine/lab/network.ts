// The lab's network: one namespace per host, a switch namespace with a bridge, eth1 veths
// between them, and per-host /etc overlay directories that `ip netns exec` bind-mounts.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runLocal, runLocalOk } from './exec.js';
import { hostNs, migrationIp, switchNs } from './names.js';

/** Entries of /etc that each host gets its own copy of (directories only: see docs/ssh-lab). */
// rc*.d: update-rc.d (the service module on sysvinit) writes there; without an overlay present when
// the holder starts, a lab host's `enable` put its links into the machine's own /etc/rc*.d.
export const OVERLAY_DIRS = ['libvirt', 'sysctl.d', 'nftables.d', 'play', 'init.d', 'pki', ...[0, 1, 2, 3, 4, 5, 6].map((n) => `rc${n}.d`)];
// Switch-side MTU: high, so that only the hosts' own eth1 MTU decides path-MTU tests.
const SWITCH_MTU = 65535;
const BRIDGE = 'br0';

export async function listNetns(ip: string): Promise<string[]> {
  const out = await runLocalOk(ip, ['-j', 'netns', 'list']);
  const list = out.trim() ? (JSON.parse(out) as Array<{ name: string }>) : [];
  return list.map((n) => n.name);
}

async function linkExists(ip: string, ns: string, dev: string): Promise<boolean> {
  return (await runLocal(ip, ['-n', ns, 'link', 'show', 'dev', dev])).code === 0;
}

async function ensureNetns(ip: string, ns: string, existing: Set<string>): Promise<void> {
  if (!existing.has(ns)) await runLocalOk(ip, ['netns', 'add', ns]);
  await runLocalOk(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
}

export async function ensureSwitch(ip: string, name: string, existing: Set<string>): Promise<void> {
  const sw = switchNs(name);
  await ensureNetns(ip, sw, existing);
  if (!(await linkExists(ip, sw, BRIDGE))) await runLocalOk(ip, ['-n', sw, 'link', 'add', BRIDGE, 'type', 'bridge']);
  // Set explicitly: a bridge otherwise follows the smallest MTU of its ports.
  await runLocalOk(ip, ['-n', sw, 'link', 'set', BRIDGE, 'mtu', String(SWITCH_MTU), 'up']);
}

/**
 * Makes host i's namespace, its eth1 on the switch and its address. Safe to repeat: a veth
 * pair lives and dies as a whole, so eth1 present means the switch port is present too.
 */
export async function ensureHostNet(ip: string, name: string, octet: number, i: number, existing: Set<string>): Promise<void> {
  const ns = hostNs(name, i);
  const sw = switchNs(name);
  const port = `hv${i}`;
  await ensureNetns(ip, ns, existing);
  await ensureOverlay(ns);
  if (!(await linkExists(ip, ns, 'eth1'))) {
    // A leftover port of a crashed run can only be a dangling name; drop it before re-creating.
    if (await linkExists(ip, sw, port)) await runLocalOk(ip, ['-n', sw, 'link', 'del', port]);
    // Created directly in both namespaces, never in the machine's own one. A fixed MAC keeps
    // the other hosts' neighbour caches valid when a repair re-creates the link.
    await runLocalOk(ip, ['link', 'add', 'eth1', 'netns', ns, 'address', hostMac(octet, i), 'type', 'veth', 'peer', 'name', port, 'netns', sw]);
  }
  await runLocalOk(ip, ['-n', sw, 'link', 'set', port, 'mtu', String(SWITCH_MTU), 'master', BRIDGE, 'up']);
  const addr = `${migrationIp(octet, i)}/24`;
  const shown = JSON.parse(await runLocalOk(ip, ['-j', '-n', ns, 'addr', 'show', 'dev', 'eth1'])) as Array<{
    addr_info?: Array<{ local: string; prefixlen: number }>;
  }>;
  const has = (shown[0]?.addr_info ?? []).some((a) => `${a.local}/${a.prefixlen}` === addr);
  if (!has) await runLocalOk(ip, ['-n', ns, 'addr', 'add', addr, 'dev', 'eth1']);
  await runLocalOk(ip, ['-n', ns, 'link', 'set', 'eth1', 'up']);
}

/** Locally administered, unique per lab octet and host. */
export function hostMac(octet: number, i: number): string {
  return ['02', '50', '4c', octet.toString(16).padStart(2, '0'), '00', i.toString(16).padStart(2, '0')].join(':');
}

async function ensureOverlay(ns: string): Promise<void> {
  for (const d of OVERLAY_DIRS) {
    // The mount point must exist on the machine: without it `ip netns exec` warns and then
    // runs the command against the machine's real /etc, exit 0.
    await mkdir(join('/etc', d), { recursive: true });
    await mkdir(join('/etc/netns', ns, d), { recursive: true });
  }
}

/** Deletes a namespace (its veths go with it) and its /etc/netns overlay. */
export async function deleteNetns(ip: string, ns: string, existing: Set<string>): Promise<void> {
  if (existing.has(ns)) await runLocalOk(ip, ['netns', 'del', ns]);
  await rm(join('/etc/netns', ns), { recursive: true, force: true });
}
