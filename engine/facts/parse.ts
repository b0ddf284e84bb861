// Pure parsers for fact gathering (the marked-sections protocol itself is in
// connection/sections.ts, re-exported here for the fact gatherer).

export { markedScript, parseMarked, type Section, type SectionOutput } from '../connection/sections.js';

// ---- fact parsers (each over one section of the facts script; tested on captured output) ----

export interface OsFacts {
  /** NAME without "GNU/Linux" noise is not guessed: ID-based, e.g. "Debian". */
  distribution: string | null;
  /** VERSION_ID, e.g. "12". */
  version: string | null;
  id: string | null;
  codename: string | null;
  pretty_name: string | null;
}

/** /etc/os-release (shell-style KEY="value" lines). */
export function parseOsRelease(text: string): OsFacts {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let v = m[2].trim();
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    kv[m[1]] = v.replace(/\\(["\\$`])/g, '$1');
  }
  const id = kv.ID ?? null;
  // Ansible's habit: "Debian", "Ubuntu", "RedHat"… from ID; NAME when ID is unknown.
  const known: Record<string, string> = { debian: 'Debian', ubuntu: 'Ubuntu', rhel: 'RedHat', centos: 'CentOS', rocky: 'Rocky', almalinux: 'AlmaLinux', fedora: 'Fedora', sles: 'SLES', opensuse: 'openSUSE' };
  return {
    distribution: id ? (known[id] ?? kv.NAME ?? id) : (kv.NAME ?? null),
    version: kv.VERSION_ID ?? null,
    id,
    codename: kv.VERSION_CODENAME ?? null,
    pretty_name: kv.PRETTY_NAME ?? null,
  };
}

export interface CpuFacts {
  model: string | null;
  flags: string[];
  count: number;
}

/** The first processor block of /proc/cpuinfo, and the count of processors. */
export function parseCpu(firstBlock: string, count: string): CpuFacts {
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm').exec(firstBlock)?.[1].trim();
  const n = Number(count.trim());
  return {
    model: field('model name') ?? field('cpu model') ?? null,
    flags: (field('flags') ?? field('Features') ?? '').split(/\s+/).filter(Boolean),
    count: Number.isInteger(n) && n > 0 ? n : 1,
  };
}

/** MemTotal of /proc/meminfo in bytes. */
export function parseMemTotal(text: string): number | null {
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}

export interface InterfaceAddress {
  family: 'inet' | 'inet6';
  address: string;
  prefixlen: number;
}

export interface InterfaceFacts {
  name: string;
  mtu: number;
  /** operstate: UP, DOWN, UNKNOWN (loopback), LOWERLAYERDOWN… */
  state: string;
  mac: string | null;
  addresses: InterfaceAddress[];
  /** Kernel driver (virtio_net, mlx5_core, veth…), null when unknown. */
  driver: string | null;
}

/** `ip -j addr show` plus `NAME DRIVER` lines → interfaces by name. */
export function parseInterfaces(ipJson: string, driverLines: string): Record<string, InterfaceFacts> {
  const drivers: Record<string, string> = {};
  for (const line of driverLines.split('\n')) {
    const [name, driver] = line.trim().split(/\s+/);
    if (name && driver) drivers[name] = driver;
  }
  const out: Record<string, InterfaceFacts> = {};
  for (const l of JSON.parse(ipJson) as Array<Record<string, any>>) {
    const name = String(l.ifname);
    out[name] = {
      name,
      mtu: Number(l.mtu),
      state: String(l.operstate ?? 'UNKNOWN'),
      mac: l.link_type === 'ether' && typeof l.address === 'string' ? l.address : null,
      addresses: ((l.addr_info ?? []) as Array<Record<string, any>>)
        .filter((a) => a.family === 'inet' || a.family === 'inet6')
        .map((a) => ({ family: a.family, address: String(a.local), prefixlen: Number(a.prefixlen) })),
      driver: drivers[name] ?? null,
    };
  }
  return out;
}

export interface DefaultIpv4 {
  interface: string;
  gateway: string | null;
  /** The first IPv4 address of that interface. */
  address: string | null;
}

/** `ip -j -4 route show default` and the interfaces → the default IPv4 route, or null. */
export function parseDefaultIpv4(routeJson: string, interfaces: Record<string, InterfaceFacts>): DefaultIpv4 | null {
  const routes = JSON.parse(routeJson) as Array<Record<string, any>>;
  const r = routes.find((x) => x.dst === 'default' && x.dev);
  if (!r) return null;
  const dev = String(r.dev);
  return { interface: dev, gateway: r.gateway ?? null, address: interfaces[dev]?.addresses.find((a) => a.family === 'inet')?.address ?? null };
}

/** "QEMU emulator version 7.2.19 (Debian …)" → "7.2.19". */
export function parseQemuVersion(text: string): string | null {
  return /QEMU emulator version (\d+(?:\.\d+)+)/.exec(text)?.[1] ?? null;
}

/** "libvirtd (libvirt) 9.0.0" / "virtqemud (libvirt) 9.0.0" → "9.0.0". */
export function parseLibvirtVersion(text: string): string | null {
  return /\(libvirt\) (\d+(?:\.\d+)+)/.exec(text)?.[1] ?? null;
}

export type LibvirtDaemon = 'virtqemud' | 'libvirtd';

export interface LibvirtDaemonFacts {
  daemon: LibvirtDaemon | null;
  running: boolean;
}

/**
 * Which daemon serves QEMU: a running one by its socket (virtqemud-sock, else libvirt-sock),
 * else the one systemd enables, else the one installed as a service (binary plus init script or
 * systemd unit; libvirtd first: Debian's default).
 * Lines of the section: `KEY yes|no` for sock-virtqemud, sock-libvirtd, service-virtqemud,
 * service-libvirtd, enabled-virtqemud, enabled-libvirtd.
 */
export function parseLibvirtDaemon(text: string): LibvirtDaemonFacts {
  const yes = new Set(text.split('\n').map((l) => l.trim().split(/\s+/)).filter(([, v]) => v === 'yes').map(([k]) => k));
  if (yes.has('sock-virtqemud')) return { daemon: 'virtqemud', running: true };
  if (yes.has('sock-libvirtd')) return { daemon: 'libvirtd', running: true };
  if (yes.has('enabled-virtqemud') && yes.has('service-virtqemud')) return { daemon: 'virtqemud', running: false };
  if (yes.has('service-libvirtd')) return { daemon: 'libvirtd', running: false };
  if (yes.has('service-virtqemud')) return { daemon: 'virtqemud', running: false };
  return { daemon: null, running: false };
}
