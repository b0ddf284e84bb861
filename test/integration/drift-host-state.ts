// What a drift check must never change, looked at from outside the engine: each lab host's /etc
// overlays (bytes, mode, owner, inode, mtime), its net.* sysctls, links, addresses and nftables
// ruleset; and the write commands of the modules' apply code, to look for in sshd's commands log.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { LabHost } from './lab-fixture.js';

export interface HostState {
  /** path → "type mode uid:gid inode size mtime sha256|link target" */
  files: Record<string, string>;
  sysctl: string[];
  links: unknown;
  addrs: unknown;
  ruleset: unknown;
}

function walk(path: string, out: Record<string, string>): void {
  const st = lstatSync(path, { bigint: true });
  // The inode and mtime catch a rewrite with the same bytes (Host.writeFile renames a new file in).
  const meta = `${(st.mode & 0o7777n).toString(8)} ${st.uid}:${st.gid} ${st.ino} ${st.size} ${st.mtimeNs}`;
  if (st.isSymbolicLink()) out[path] = `link ${meta} -> ${readlinkSync(path)}`;
  else if (st.isFile()) out[path] = `file ${meta} ${createHash('sha256').update(readFileSync(path)).digest('hex')}`;
  else if (st.isDirectory()) {
    out[path] = `dir ${meta}`;
    for (const name of readdirSync(path).sort()) walk(join(path, name), out);
  } else out[path] = `other ${meta}`;
}

// A live counter, not configuration: it may move with any packet.
const VOLATILE_SYSCTL = /^net\.netfilter\.nf_conntrack_count =/;
// The kernel's own doing: after an MTU change IPv6 re-runs duplicate address detection, so an
// address is `tentative` (and its lifetimes tick) for a moment, whoever changed the MTU.
const VOLATILE_ADDR = new Set(['tentative', 'valid_life_time', 'preferred_life_time']);

/**
 * `cmd` through /bin/sh in the namespace (with its /etc overlays), stdin closed. (lab-fixture's
 * nsExec writes to the child's stdin, which races the child's exit into an uncaught EPIPE.)
 */
export function nsRun(ns: string, cmd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('ip', ['netns', 'exec', ns, '/bin/sh', '-c', cmd], { encoding: 'utf8', maxBuffer: 64 << 20 }, (err, stdout, stderr) =>
      err ? reject(new Error(`${ns}: ${cmd}: ${err.message}\n${stderr}`)) : resolve(stdout),
    );
    child.stdin?.destroy();
  });
}

const stable = (addrs: Array<{ addr_info?: Array<Record<string, unknown>> }>) =>
  addrs.map((l) => ({ ...l, addr_info: l.addr_info?.map((a) => Object.fromEntries(Object.entries(a).filter(([k]) => !VOLATILE_ADDR.has(k)))) }));

export async function hostState(h: LabHost): Promise<HostState> {
  const files: Record<string, string> = {};
  walk(join('/etc/netns', h.ns), files);
  const run = (cmd: string) => nsRun(h.ns, cmd);
  const [sysctl, links, addrs, ruleset] = await Promise.all([run('sysctl -a 2>/dev/null'), run('ip -d -j link'), run('ip -j addr'), run('nft -j list ruleset')]);
  return {
    files,
    sysctl: sysctl.split('\n').filter((l) => l.startsWith('net.') && !VOLATILE_SYSCTL.test(l)),
    links: JSON.parse(links),
    addrs: stable(JSON.parse(addrs)),
    ruleset: JSON.parse(ruleset),
  };
}

export const labState = (hosts: LabHost[]): Promise<HostState[]> => Promise.all(hosts.map(hostState));

/**
 * Commands that change a host, from the modules' apply code (and Host.writeFile), plus the generic
 * ways a shell writes. No read script writes anything, scratch files included (mtu's path check
 * keeps its ping output in shell variables).
 */
export const WRITE_COMMANDS: ReadonlyArray<{ name: string; re: RegExp }> = [
  { name: 'sysctl -w', re: /\bsysctl\s+(?:-\S+\s+)*?(?:-\w*w\b|-p\b|--system\b|--load\b|--write\b)/ }, // sysctl apply
  { name: 'ip link set', re: /\bip\s+(?:-\S+\s+)*(?:link|addr|address|route)\s+(?:set|add|del|delete|change|replace|flush)\b/ }, // mtu apply
  { name: 'ethtool -K/-G/-L', re: /\bethtool\s+(?:-[KGLsACNX]|--(?:features|offload|set-ring|set-channels|change|coalesce|pause))\b/ }, // ethtool apply
  { name: 'nft write', re: /\bnft\s+(?:-\S+\s+)*(?:-f\b|(?:add|create|insert|replace|delete|destroy|flush|rename|reset)\b)/ }, // firewall apply
  { name: 'file write (Host.writeFile)', re: /\bmv\s+-f\b|\.play-tmp\./ }, // sysctl/qemu_conf/firewall persist files
  { name: 'backup/permissions', re: /\bcp\s+-p\b|\bch(?:mod|own|grp)\b/ }, // writeFile keeps mode/owner, backup: true
  { name: 'mkdir/rm -f', re: /\bmkdir\b|\brm\s+-f\b/ }, // firewall persist dir and removal
  { name: 'service control', re: /\bsystemctl\s+(?:-\S+\s+)*(?:start|stop|restart|reload|try-restart|reload-or-restart|enable|disable|mask|unmask|daemon-reload)\b|\bupdate-rc\.d\b|\/etc\/init\.d\/\S+\s+(?:start|stop|restart|reload|force-reload)\b/ }, // service apply (handlers)
  { name: 'shell write', re: /(?:^|[^<])>>?\s*["']?\/(?!dev\/null\b)|\bsed\s+(?:-\S+\s+)*-i|\b(?:tee|truncate|touch)\b/m }, // redirection into an absolute path, in-place edits
];

/** The write commands among `commands`, each with the rule that caught it. */
export function writesIn(commands: string[]): Array<{ name: string; command: string }> {
  return commands.flatMap((command) => WRITE_COMMANDS.filter((w) => w.re.test(command)).map((w) => ({ name: w.name, command })));
}
