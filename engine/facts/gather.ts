// Host facts in one round trip: one shell script, a section per fact, each parsed by a pure
// parser in parse.ts. A missing tool gives null for its fact, never a failed gather.
import type { Host } from '../connection/host.js';
import { PlayError } from '../errors.js';
import {
  markedScript,
  parseCpu,
  parseDefaultIpv4,
  parseInterfaces,
  parseLibvirtDaemon,
  parseLibvirtVersion,
  parseMarked,
  parseMemTotal,
  parseOsRelease,
  parseQemuVersion,
  type CpuFacts,
  type DefaultIpv4,
  type InterfaceFacts,
  type LibvirtDaemon,
  type OsFacts,
  type Section,
  type SectionOutput,
} from './parse.js';

export interface Facts {
  hostname: string | null;
  /** uname -r */
  kernel: string | null;
  os: OsFacts | null;
  cpu: CpuFacts | null;
  memory_total_bytes: number | null;
  /** By interface name. */
  interfaces: Record<string, InterfaceFacts>;
  default_ipv4: DefaultIpv4 | null;
  qemu_version: string | null;
  libvirt_version: string | null;
  /** The daemon that serves qemu:///system here (the restart handler restarts this one). */
  libvirt_daemon: LibvirtDaemon | null;
  libvirt_daemon_running: boolean;
  /** systemd is PID 1 (/run/systemd/system exists). */
  systemd: boolean;
}

const has = (cmd: string) => `{ command -v ${cmd} || [ -x /usr/sbin/${cmd} ]; } >/dev/null 2>&1`;
/**
 * The daemon is installed as a service this host's service manager can restart: its binary and
 * either an init script or (systemd is PID 1) a unit. A binary alone is not a daemon of this host
 * (a container or lab host sharing the machine's /usr), and the restart handler would fail on it.
 */
const serviceHere = (daemon: string) =>
  `${has(daemon)} && { [ -x /etc/init.d/${daemon} ] || { [ -d /run/systemd/system ] && for d in /etc/systemd/system /run/systemd/system /usr/lib/systemd/system /lib/systemd/system; do [ -e "$d/${daemon}.service" ] && break; false; done; }; }`;
const yesNo = (key: string, test: string) => `if ${test}; then echo '${key} yes'; else echo '${key} no'; fi`;

/** The sections of the facts script (fixed text: nothing from the user goes in). */
export const FACT_SECTIONS: Section[] = [
  { name: 'hostname', cmd: 'hostname 2>/dev/null || cat /proc/sys/kernel/hostname' },
  { name: 'kernel', cmd: 'uname -r' },
  { name: 'os', cmd: 'cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release' },
  { name: 'cpu', cmd: "sed '/^$/q' /proc/cpuinfo" },
  { name: 'cpus', cmd: "grep -c '^processor' /proc/cpuinfo" },
  { name: 'mem', cmd: 'grep ^MemTotal: /proc/meminfo' },
  { name: 'addr', cmd: 'ip -j addr show' },
  {
    name: 'drivers',
    // The device's driver link; virtual devices have none, so ask ethtool -i (veth, bridge…).
    cmd: [
      'for d in /sys/class/net/*; do n=${d##*/}; drv=""',
      '  if [ -e "$d/device/driver" ]; then drv=$(basename "$(readlink "$d/device/driver")"); fi',
      `  if [ -z "$drv" ] && ${has('ethtool')}; then drv=$(ethtool -i "$n" 2>/dev/null | sed -n 's/^driver: //p'); fi`,
      '  echo "$n $drv"',
      'done',
    ].join('\n'),
  },
  { name: 'route4', cmd: 'ip -j -4 route show default' },
  { name: 'qemu', cmd: `if ${has('qemu-system-x86_64')}; then qemu-system-x86_64 --version; fi` },
  {
    name: 'libvirt',
    cmd: [
      `if ${has('virtqemud')}; then PATH="$PATH:/usr/sbin" virtqemud --version; elif ${has('libvirtd')}; then PATH="$PATH:/usr/sbin" libvirtd --version; fi`,
    ].join('\n'),
  },
  {
    name: 'daemon',
    cmd: [
      yesNo('sock-virtqemud', '[ -S /run/libvirt/virtqemud-sock ]'),
      yesNo('sock-libvirtd', '[ -S /run/libvirt/libvirt-sock ] && ! [ -S /run/libvirt/virtproxyd-sock ]'),
      yesNo('service-virtqemud', serviceHere('virtqemud')),
      yesNo('service-libvirtd', serviceHere('libvirtd')),
      yesNo('enabled-virtqemud', '[ -d /run/systemd/system ] && systemctl -q is-enabled virtqemud.socket 2>/dev/null'),
    ].join('\n'),
  },
  { name: 'systemd', cmd: yesNo('systemd', '[ -d /run/systemd/system ]') },
];

export const factsScript = (): string => markedScript(FACT_SECTIONS);

/** Pure: the facts script's output → Facts (unit-tested on captured output). */
export function factsFromOutput(out: string): Facts {
  const s = parseMarked(out);
  const text = (name: string): string | null => {
    const sec: SectionOutput | undefined = s[name];
    return sec && sec.rc === 0 && sec.text.trim() !== '' ? sec.text : null;
  };
  // A parser that throws on odd output gives null for that fact only.
  const safe = <T>(f: () => T): T | null => {
    try {
      return f();
    } catch {
      return null;
    }
  };
  const line = (name: string) => text(name)?.trim().split('\n')[0] ?? null;
  const interfaces = safe(() => parseInterfaces(text('addr') ?? '[]', s.drivers?.text ?? '')) ?? {};
  const daemon = parseLibvirtDaemon(s.daemon?.text ?? '');
  const cpuBlock = text('cpu');
  const mem = text('mem');
  return {
    hostname: line('hostname'),
    kernel: line('kernel'),
    os: text('os') ? parseOsRelease(text('os')!) : null,
    cpu: cpuBlock ? parseCpu(cpuBlock, text('cpus') ?? '') : null,
    memory_total_bytes: mem ? parseMemTotal(mem) : null,
    interfaces,
    default_ipv4: safe(() => parseDefaultIpv4(text('route4') ?? '[]', interfaces)),
    qemu_version: parseQemuVersion(text('qemu') ?? ''),
    libvirt_version: parseLibvirtVersion(text('libvirt') ?? ''),
    libvirt_daemon: daemon.daemon,
    libvirt_daemon_running: daemon.running,
    systemd: /^systemd yes$/m.test(s.systemd?.text ?? ''),
  };
}

export async function gatherFacts(host: Host): Promise<Facts> {
  const r = await host.run(factsScript(), { timeoutMs: 60_000 });
  if (!r.stdout.includes('@@play kernel@@')) {
    throw new PlayError(`could not gather facts on ${host.name}: ${r.stderr.trim() || `the facts script exited ${r.code} without output`}`);
  }
  return factsFromOutput(r.stdout);
}
