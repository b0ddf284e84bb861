// Captures the simulator's canned outputs from a real namespace host (run as root):
//   node dist/bench/capture-profile.js [--out bench/profiles/hypervisor.json]
// Builds two namespaces joined by a veth `eth1` (as the lab does), loads a live-migration nft
// table and a sysctl.d file, runs the read commands a check would run, and records what they print.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { rootPath } from '../engine/paths.js';
import type { Profile, CannedReply } from './sim/profile.js';

const NS = ['play-bench-cap1', 'play-bench-cap2'];

/** sysctl keys a migration-tuning playbook reads (net.* are per namespace; the rest are the machine's). */
const SYSCTL_PREFIXES = ['net.core.', 'net.ipv4.tcp_', 'net.ipv4.ip_forward', 'net.ipv4.ip_local_port_range', 'vm.', 'kernel.numa_balancing', 'kernel.sched_autogroup_enabled'];

const SYSCTL_CONF = `# Managed by play: live-migration network tuning
net.core.rmem_max = 268435456
net.core.wmem_max = 268435456
net.ipv4.tcp_rmem = 4096 87380 134217728
net.ipv4.tcp_wmem = 4096 65536 134217728
net.ipv4.tcp_mtu_probing = 1
net.core.netdev_max_backlog = 30000
`;

const QEMU_CONF = `# Managed by play: migration settings
migration_address = "198.18.27.1"
migration_host = "198.18.27.1"
migration_port_min = 49152
migration_port_max = 49215
migrate_tls_force = 0
`;

const NFT_TABLE = `table inet live_migration {
  chain input {
    type filter hook input priority 0; policy accept;
    ip saddr 198.18.27.0/24 tcp dport 49152-49215 accept
    tcp dport 49152-49215 drop
  }
}
`;

/** Commands whose real output becomes exact canned replies. */
const COMMANDS = [
  'ethtool -k eth1',
  'ethtool -l eth1',
  'ethtool -g eth1',
  'ethtool -c eth1',
  'ethtool -i eth1',
  'ip -j link show dev eth1',
  'ip -j addr show dev eth1',
  'ip -j -d link show dev eth1',
  'nft -j list table inet live_migration',
  'nft list table inet live_migration',
  'nft -j list ruleset',
  'nft list ruleset',
  'uname -r',
  'true',
];

function sh(cmd: string, input?: string): void {
  execFileSync('/bin/sh', ['-c', cmd], { input, stdio: ['pipe', 'ignore', 'inherit'] });
}

function inNs(ns: string, command: string): CannedReply {
  const r = spawnSync('ip', ['netns', 'exec', ns, '/bin/sh', '-c', command], { env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 128 };
}

function teardown(): void {
  for (const ns of NS) {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
  }
}

function main(): void {
  const { values } = parseArgs({ options: { out: { type: 'string', default: rootPath('bench/profiles/hypervisor.json') } } });
  teardown(); // leftovers of a crashed run
  try {
    for (const ns of NS) {
      mkdirSync(`/etc/netns/${ns}/sysctl.d`, { recursive: true });
      sh(`ip netns add ${ns} && ip -n ${ns} link set lo up`);
    }
    const [a, b] = NS;
    sh(`ip link add eth1 netns ${a} type veth peer name eth1 netns ${b}`);
    sh(`ip -n ${a} addr add 198.18.27.1/24 dev eth1 && ip -n ${a} link set eth1 up && ip -n ${b} link set eth1 up`);
    writeFileSync(`/etc/netns/${a}/sysctl.d/90-play-migration.conf`, SYSCTL_CONF);
    sh(`ip netns exec ${a} nft -f -`, NFT_TABLE);

    const all = inNs(a, 'sysctl -a 2>/dev/null').stdout;
    const sysctl: Record<string, string> = {};
    for (const line of all.split('\n')) {
      const m = /^(\S+) = ?(.*)$/.exec(line);
      if (m && SYSCTL_PREFIXES.some((p) => m[1].startsWith(p))) sysctl[m[1]] = m[2];
    }
    // sysctl -a prints tabs of multi-value keys as tabs too, but check exactly with -n.
    for (const key of Object.keys(sysctl)) sysctl[key] = inNs(a, `sysctl -n ${key}`).stdout.replace(/\n$/, '');

    const exact: Record<string, CannedReply> = {};
    for (const c of COMMANDS) exact[c] = inNs(a, c);
    const missing = inNs(a, 'sysctl -n net.nonexistent.key');
    const catMissing = inNs(a, 'cat /nonexistent/file');

    const profile: Profile = {
      name: 'hypervisor',
      description: `Captured ${new Date().toISOString().slice(0, 10)} from a namespace host (veth eth1, nft table inet live_migration, /etc/sysctl.d overlay) by bench/capture-profile.ts`,
      sysctl,
      sysctlMissing: missing,
      catMissing,
      files: {
        '/etc/sysctl.d/90-play-migration.conf': inNs(a, 'cat /etc/sysctl.d/90-play-migration.conf').stdout,
        '/etc/libvirt/qemu.conf': QEMU_CONF,
        '/etc/nftables.d/live-migration.nft': NFT_TABLE,
      },
      exact,
      rules: [
        // Any other interface name is answered like eth1 (the simulator has one kind of NIC).
        { match: '^ethtool -k \\S+$', reply: exact['ethtool -k eth1'] },
        { match: '^ip -j link show dev \\S+$', reply: exact['ip -j link show dev eth1'] },
        { match: '^command -v (\\S+)$', reply: { stdout: '/usr/sbin/$1\n', stderr: '', code: 0 } },
      ],
    };
    writeFileSync(values.out!, JSON.stringify(profile, null, 2) + '\n');
    process.stdout.write(`wrote ${values.out} (${Object.keys(sysctl).length} sysctl keys, ${COMMANDS.length} commands)\n`);
  } finally {
    teardown();
  }
}

main();
