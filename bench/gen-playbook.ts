// The benchmark's work, written three ways from one task list: a play playbook, the equivalent
// Ansible playbook, and the read commands the raw-SSH floor sends (one per task).
//   node dist/bench/gen-playbook.js [--tasks 10,50]   → bench/playbooks/, bench/ansible/
// Tasks come in blocks of 10 (4 sysctl, copy, template, ethtool read, ethtool set, link read,
// firewall); block b>0 uses its own files and a copy instead of a second firewall table.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import yaml from 'js-yaml';
import { rootPath } from '../engine/paths.js';

const SYSCTLS: Array<[string, string]> = [
  ['net.ipv4.tcp_rmem', '4096 87380 16777216'],
  ['net.ipv4.tcp_wmem', '4096 65536 16777216'],
  ['net.ipv4.tcp_mtu_probing', '1'],
  ['net.ipv4.tcp_slow_start_after_idle', '0'],
];

/** Same text for handlebars (play) and Jinja (Ansible): a bare variable reads alike in both. */
const TEMPLATE = '# Managed by the play benchmark\nhost = {{inventory_hostname}}\nmigration_iface = eth1\n';
const NFT_ALLOW = '198.18.0.0/15';

export interface BenchWork {
  play: unknown[];
  ansible: unknown[];
  /** One read command per task: what the floor sends. */
  reads: string[];
}

const readFile = (p: string) => `if [ -e ${p} ]; then exec cat -- ${p}; else exit 3; fi`;

export function benchWork(tasks: number): BenchWork {
  if (tasks % 10 !== 0 || tasks < 10) throw new Error(`tasks must be a multiple of 10, got ${tasks}`);
  const play: Record<string, unknown>[] = [];
  const ans: Record<string, unknown>[] = [];
  const reads: string[] = [];
  for (let b = 0; b < tasks / 10; b++) {
    const conf = `/etc/sysctl.d/90-bench-${b}.conf`;
    for (const [key, value] of SYSCTLS) {
      play.push({ name: `sysctl ${key} (${b})`, sysctl: { settings: { [key]: value }, file: conf } });
      ans.push({ name: `sysctl ${key} (${b})`, 'ansible.posix.sysctl': { name: key, value, sysctl_file: conf, reload: true } });
      reads.push(`sysctl -n ${key}`);
    }
    const copyDest = `/etc/play/bench-${b}.conf`;
    const content = `# benchmark block ${b}\nmigration_bandwidth_mib = 1024\n`;
    play.push({ name: `copy (${b})`, copy: { dest: copyDest, content, mode: '0644' } });
    ans.push({ name: `copy (${b})`, copy: { dest: copyDest, content, mode: '0644' } });
    reads.push(readFile(copyDest));

    const tplDest = `/etc/play/bench-tpl-${b}.conf`;
    play.push({ name: `template (${b})`, template: { src: 'templates/bench.conf.j2', dest: tplDest, mode: '0644' } });
    ans.push({ name: `template (${b})`, template: { src: 'templates/bench.conf.j2', dest: tplDest, mode: '0644' } });
    reads.push(readFile(tplDest));

    play.push({ name: `read offloads (${b})`, command: 'ethtool -k eth1', changed_when: false });
    ans.push({ name: `read offloads (${b})`, command: 'ethtool -k eth1', changed_when: false, check_mode: false });
    reads.push('ethtool -k eth1');

    play.push({ name: `GRO on (${b})`, ethtool: { interface: 'eth1', features: { gro: true } } });
    // Ansible has no ethtool module (community.general#8947): the usual shell idiom.
    ans.push({
      name: `GRO on (${b})`,
      shell: "if ethtool -k eth1 | grep -q '^generic-receive-offload: on'; then echo ok; else ethtool -K eth1 gro on && echo changed; fi",
      register: `gro_${b}`,
      changed_when: `'changed' in gro_${b}.stdout`,
    });
    reads.push('ethtool -k eth1');

    play.push({ name: `read link (${b})`, command: 'ip -j link show dev eth1', changed_when: false });
    ans.push({ name: `read link (${b})`, command: 'ip -j link show dev eth1', changed_when: false, check_mode: false });
    reads.push('ip -j link show dev eth1');

    if (b === 0) {
      const persist = '/etc/nftables.d/live-migration.nft';
      play.push({ name: 'migration ports firewall', firewall: { ports: '49152-49215', allow_from: [NFT_ALLOW], persist_file: persist } });
      // Ansible has no nftables module: the file, loaded when it changed.
      ans.push({
        name: 'migration ports firewall',
        copy: {
          dest: persist,
          content: `table inet live_migration\ndelete table inet live_migration\ntable inet live_migration {\n  chain input {\n    type filter hook input priority 0; policy accept;\n    ip saddr ${NFT_ALLOW} tcp dport 49152-49215 accept\n    tcp dport 49152-49215 drop\n  }\n}\n`,
        },
        notify: 'load nft',
      });
      reads.push('nft -j list table inet live_migration');
    } else {
      const dest = `/etc/play/bench-extra-${b}.conf`;
      play.push({ name: `copy extra (${b})`, copy: { dest, content: `extra ${b}\n` } });
      ans.push({ name: `copy extra (${b})`, copy: { dest, content: `extra ${b}\n` } });
      reads.push(readFile(dest));
    }
  }
  const hosts = 'hypervisors';
  return {
    play: [{ name: `bench ${tasks} tasks`, hosts, gather_facts: false, tasks: play }],
    ansible: [
      {
        name: `bench ${tasks} tasks`,
        hosts,
        gather_facts: false,
        tasks: ans,
        handlers: [{ name: 'load nft', command: 'nft -f /etc/nftables.d/live-migration.nft' }],
      },
    ],
    reads,
  };
}

export function playbookPaths(tasks: number): { play: string; ansible: string; reads: string } {
  return {
    play: rootPath('bench', 'playbooks', `bench-${tasks}.yml`),
    ansible: rootPath('bench', 'ansible', `bench-${tasks}.yml`),
    reads: rootPath('bench', 'playbooks', `bench-${tasks}.reads.json`),
  };
}

export function writeBenchWork(tasks: number): ReturnType<typeof playbookPaths> {
  const w = benchWork(tasks);
  const p = playbookPaths(tasks);
  const header = `# Generated by bench/gen-playbook.ts (${tasks} tasks); edit the generator, not this file.\n`;
  for (const dir of ['playbooks', 'ansible']) {
    mkdirSync(rootPath('bench', dir, 'templates'), { recursive: true });
    writeFileSync(rootPath('bench', dir, 'templates', 'bench.conf.j2'), TEMPLATE);
  }
  writeFileSync(p.play, header + yaml.dump(w.play, { lineWidth: -1 }));
  writeFileSync(p.ansible, header + yaml.dump(w.ansible, { lineWidth: -1 }));
  writeFileSync(p.reads, JSON.stringify(w.reads, null, 1) + '\n');
  return p;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { values } = parseArgs({ options: { tasks: { type: 'string', default: '10,50' } } });
  for (const t of values.tasks!.split(',')) process.stdout.write(`${join(writeBenchWork(Number(t)).play)}\n`);
}
