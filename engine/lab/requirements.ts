// What `play lab` needs from the machine, checked up front with the Debian package to install.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { PlayError } from '../errors.js';

const TOOLS: Array<{ cmd: string; pkg: string }> = [
  { cmd: 'sshd', pkg: 'openssh-server' },
  { cmd: 'ssh-keygen', pkg: 'openssh-client' },
  { cmd: 'ip', pkg: 'iproute2' },
  { cmd: 'ethtool', pkg: 'ethtool' },
  { cmd: 'nft', pkg: 'nftables' },
  { cmd: 'ping', pkg: 'iputils-ping' },
  { cmd: 'openssl', pkg: 'openssl' },
];

/** What `play lab up` needs: sshd per host, namespaces, and the tools the tuning modules run. */
export const LAB_PACKAGES = [...new Set(TOOLS.map((t) => t.pkg))];

/**
 * `play lab up --libvirt` and `play lab guest`: libvirt + QEMU (TCG) inside every host, the -sysv
 * variant (the default pulls in systemd), busybox-static and cpio for the guest's initramfs,
 * gnutls-bin for certtool (libvirt's documented certificate tool, used to inspect the lab CA).
 */
export const LIBVIRT_LAB_PACKAGES = [
  'qemu-system-x86', 'libvirt-clients', 'libvirt-daemon', 'libvirt-daemon-driver-qemu', 'libvirt-daemon-system',
  'libvirt-daemon-system-sysv', 'busybox-static', 'cpio', 'gnutls-bin',
];

// sbin directories are often missing from a non-root PATH, and sshd must be run by absolute path.
const SEARCH = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin'];

export function findTool(cmd: string): string | undefined {
  for (const dir of SEARCH) {
    const p = join(dir, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

export interface Tools {
  sshd: string;
  sshKeygen: string;
  ip: string;
  openssl: string;
}

/** Throws one PlayError listing everything missing: root, and each tool with its package. */
export function checkRequirements(): Tools {
  const problems: string[] = [];
  if (process.getuid?.() !== 0) problems.push('play lab needs root (network namespaces, sshd on port 22, /etc/netns): run it as root');
  const missing = TOOLS.filter((t) => !findTool(t.cmd));
  for (const t of missing) problems.push(`'${t.cmd}' not found: install the Debian package ${t.pkg} (apt-get install -y ${t.pkg})`);
  if (problems.length) throw new PlayError(problems.join('\n'));
  return { sshd: findTool('sshd')!, sshKeygen: findTool('ssh-keygen')!, ip: findTool('ip')!, openssl: findTool('openssl')! };
}

/** For `down` and `status`: only root and ip are needed, whatever else is missing. */
export function checkRootAndIp(): string {
  if (process.getuid?.() !== 0) throw new PlayError('play lab needs root (network namespaces, sshd on port 22, /etc/netns): run it as root');
  const ip = findTool('ip');
  if (!ip) throw new PlayError(`'ip' not found: install the Debian package iproute2 (apt-get install -y iproute2)`);
  return ip;
}
