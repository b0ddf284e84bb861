// Captures the simulator's canned outputs from a real lab host (run as root):
//   node dist/bench/capture-profile.js [--out bench/profiles/hypervisor.json] [--tasks 10,50]
// Brings up lab 'bench2' (octet 29, one fresh hypervisor), runs `play check` of the bench playbooks
// on it over real SSH, takes every command the engine sent from the host's sshd-side commands log,
// and replays each one inside the host's namespace to record exactly what it prints. Whatever the
// engine sends, the simulator then answers byte for byte as that host did; the generic parts
// (sysctl values, files, a few rules) answer everything else a playbook may read.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rootPath } from '../engine/paths.js';
import { shQuote } from '../engine/connection/quote.js';
import { labDown, labUp, readCommandsLog, type LabInfo } from '../engine/lab/index.js';
import { writeBenchWork } from './gen-playbook.js';
import { unwrapCommand, type CannedReply, type Profile } from './sim/profile.js';

const LAB = { name: 'bench2', octet: 29 };

/** sysctl keys a migration-tuning playbook reads (net.* are per namespace; the rest are the machine's). */
const SYSCTL_PREFIXES = ['net.core.', 'net.ipv4.tcp_', 'net.ipv4.ip_forward', 'net.ipv4.ip_local_port_range', 'vm.', 'kernel.numa_balancing', 'kernel.sched_autogroup_enabled'];

/** Directories the lab overlays per host: their files are served to cat/readFile. */
const FILE_DIRS = ['/etc/libvirt', '/etc/sysctl.d', '/etc/nftables.d', '/etc/play'];

/** Commands a playbook might send outside the engine's own scripts; real outputs become exact replies. */
const COMMANDS = [
  'ethtool -k eth1',
  'ethtool -l eth1',
  'ethtool -g eth1',
  'ethtool -c eth1',
  'ethtool -i eth1',
  'ip -j link show dev eth1',
  'ip -j addr show dev eth1',
  'ip -j -d link show dev eth1',
  'ip -o link show dev eth1',
  'nft -j list table inet live_migration',
  'nft list table inet live_migration',
  'nft -j list ruleset',
  'nft list ruleset',
  'uname -r',
  'true',
];

function inNs(ns: string, command: string): CannedReply {
  const r = spawnSync('ip', ['netns', 'exec', ns, '/bin/sh', '-c', command], { env: { PATH: process.env.PATH, LC_ALL: 'C' }, encoding: 'utf8' });
  if (r.error) throw r.error;
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 128 };
}

/** Commands the engine sent during one `play check`, read from the host's sshd-side log. */
function engineCommands(info: LabInfo, playbook: string, state: string): string[] {
  const log = info.hosts[0].commandsLog;
  const before = readCommandsLog(log).length;
  const r = spawnSync(process.execPath, [rootPath('dist/engine/cli.js'), 'check', playbook, '-i', info.inventoryPath, '--state-dir', state], { encoding: 'utf8' });
  // A fresh host drifts from every task: 2. Anything else means the capture would be wrong.
  if (r.status !== 2) throw new Error(`play check ${playbook} exited ${r.status} (expected 2):\n${r.stdout}${r.stderr}`);
  return readCommandsLog(log).slice(before);
}

function sysctlValues(ns: string): Record<string, string> {
  const sysctl: Record<string, string> = {};
  for (const line of inNs(ns, 'sysctl -a 2>/dev/null').stdout.split('\n')) {
    const m = /^(\S+) = ?(.*)$/.exec(line);
    if (m && SYSCTL_PREFIXES.some((p) => m[1].startsWith(p))) sysctl[m[1]] = m[2];
  }
  // `sysctl -a` may reformat multi-value keys: take each exactly as -n prints it, in one call.
  const keys = Object.keys(sysctl);
  const values = inNs(ns, `sysctl -n ${keys.join(' ')}`).stdout.replace(/\n$/, '').split('\n');
  if (values.length !== keys.length) throw new Error(`sysctl -n returned ${values.length} values for ${keys.length} keys`);
  keys.forEach((k, i) => (sysctl[k] = values[i]));
  return sysctl;
}

function overlayFiles(ns: string): Record<string, string> {
  const list = inNs(ns, `find ${FILE_DIRS.join(' ')} -type f ! -name '*key*' 2>/dev/null | sort`).stdout.split('\n').filter(Boolean);
  return Object.fromEntries(list.map((p) => [p, inNs(ns, `cat -- ${shQuote(p)}`).stdout]));
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string', default: rootPath('bench/profiles/hypervisor.json') }, tasks: { type: 'string', default: '10,50' } } });
  const state = mkdtempSync(join(tmpdir(), 'play-capture-'));
  await labDown(LAB.name); // leftovers of a crashed run
  try {
    const info = await labUp({ name: LAB.name, hosts: 1, octet: LAB.octet });
    const ns = info.hosts[0].ns;
    const sent = new Set<string>();
    for (const t of values.tasks!.split(',')) for (const c of engineCommands(info, writeBenchWork(Number(t)).play, state)) sent.add(c);
    // A check only reads, so replaying on the same, still fresh host gives the replies it got.
    const exact: Record<string, CannedReply> = {};
    for (const c of sent) exact[unwrapCommand(c)] = inNs(ns, c);
    for (const c of COMMANDS) exact[c] ??= inNs(ns, c);
    const sysctl = sysctlValues(ns);
    const profile: Profile = {
      name: 'hypervisor',
      description: `Captured ${new Date().toISOString().slice(0, 10)} by bench/capture-profile.ts from lab host ${info.hosts[0].name} (fresh hypervisor: veth eth1, Debian qemu.conf, no tuning): ${sent.size} commands play check sent, replayed in its namespace`,
      sysctl,
      sysctlMissing: inNs(ns, 'sysctl -n net.nonexistent.key'),
      catMissing: inNs(ns, 'cat /nonexistent/file'),
      files: overlayFiles(ns),
      exact,
      rules: [
        // Any other interface name is answered like eth1 (the simulator has one kind of NIC).
        { match: '^ethtool -k \\S+$', reply: exact['ethtool -k eth1'] },
        { match: '^ip -j link show dev \\S+$', reply: exact['ip -j link show dev eth1'] },
        { match: '^command -v (\\S+)$', reply: { stdout: '/usr/sbin/$1\n', stderr: '', code: 0 } },
      ],
    };
    writeFileSync(values.out!, JSON.stringify(profile, null, 2) + '\n');
    process.stdout.write(`wrote ${values.out} (${sent.size} engine commands, ${Object.keys(exact).length} exact replies, ${Object.keys(sysctl).length} sysctl keys)\n`);
  } finally {
    await labDown(LAB.name).catch(() => undefined);
    rmSync(state, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`capture-profile: ${e.message}\n`);
  process.exitCode = 1;
});
