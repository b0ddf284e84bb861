// The real lab for the three-way comparison: bring it up, write inventories of its first K hosts,
// and put every host back to the same starting state before each measured run.
import { readCommandsLog } from '../engine/lab/wrapper.js';
import { sshdPaths } from '../engine/lab/sshd.js';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../engine/paths.js';
import { shQuote } from '../engine/connection/quote.js';
import type { Target } from './floor.js';

/** The lab's types (engine/lab/types.ts), loaded at run time so bench builds without it. */
export interface BenchLab {
  name: string;
  hosts: Array<{ name: string; ns: string; address: string; port: number }>;
  knownHostsPath: string;
  keyPath: string;
  inventoryPath: string;
}

interface LabApi {
  labUp(o: { name: string; hosts: number; octet: number }): Promise<BenchLab>;
  labDown(name: string): Promise<unknown>;
  renderInventory(info: BenchLab): string;
}

// The test labs' tag and shift apply (lab-fixture.ts): engineers benching at once never share a lab.
export const LAB = { name: `bench${process.env.PLAY_TEST_LAB_TAG ?? ''}`, octet: (27 + Number(process.env.PLAY_TEST_OCTET_SHIFT ?? 0)) % 256 };

async function api(): Promise<LabApi> {
  const lab = await import(rootPath('dist/engine/lab/index.js'));
  const inv = await import(rootPath('dist/engine/lab/inventory.js'));
  return { labUp: lab.labUp, labDown: lab.labDown, renderInventory: inv.renderInventory };
}

export async function labUp(hosts: number): Promise<BenchLab> {
  const a = await api();
  await a.labDown(LAB.name); // leftovers of a crashed run
  return a.labUp({ name: LAB.name, hosts, octet: LAB.octet });
}

export async function labDown(): Promise<void> {
  await (await api()).labDown(LAB.name);
}

/** An inventory (the lab's own format) with only the first k hosts. */
export async function labInventory(lab: BenchLab, k: number, dir: string): Promise<string> {
  const path = join(dir, `lab-${k}.yml`);
  writeFileSync(path, (await api()).renderInventory({ ...lab, hosts: lab.hosts.slice(0, k) } as BenchLab));
  return path;
}

export function labTargets(lab: BenchLab, k: number): Target[] {
  return lab.hosts.slice(0, k).map((h) => ({ name: h.name, address: h.address, port: h.port, user: 'root' }));
}

function nsSh(ns: string, script: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('ip', ['netns', 'exec', ns, '/bin/sh', '-c', script], { encoding: 'utf8' }, (err, stdout, stderr) =>
      err ? reject(new Error(`${ns}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
}

export const RESET_SYSCTLS = ['net.ipv4.tcp_rmem', 'net.ipv4.tcp_wmem', 'net.ipv4.tcp_mtu_probing', 'net.ipv4.tcp_slow_start_after_idle'];

/** Values of the benchmark's sysctls on a fresh host, to restore before each run. */
export async function readBaseline(lab: BenchLab): Promise<Record<string, string>> {
  const out = await nsSh(lab.hosts[0].ns, RESET_SYSCTLS.map((k) => `sysctl -n ${shQuote(k)}`).join('; '));
  const vals = out.split('\n');
  return Object.fromEntries(RESET_SYSCTLS.map((k, i) => [k, vals[i].replace(/\t/g, ' ')]));
}

/** Undoes everything the benchmark playbooks change, so every run does the same work. */
export async function resetHosts(lab: BenchLab, k: number, baseline: Record<string, string>): Promise<void> {
  const script = [
    'rm -f /etc/sysctl.d/90-bench-*.conf /etc/play/bench-*.conf /etc/nftables.d/live-migration.nft',
    'nft delete table inet live_migration 2>/dev/null || true',
    'ethtool -K eth1 gro off 2>/dev/null || true',
    ...Object.entries(baseline).map(([key, v]) => `sysctl -qw ${shQuote(`${key}=${v}`)}`),
  ].join('\n');
  await Promise.all(lab.hosts.slice(0, k).map((h) => nsSh(h.ns, script)));
}

/**
 * Round trips per host, counted where they land: the lab sshd's command log (one line per exec).
 * `mark()` before a run, `note()` after it: the execs of that run, the most and fewest of any host.
 */
export function execCounter(k: number): { mark(): void; note(): string } {
  const counts = () => Array.from({ length: k }, (_, i) => readCommandsLog(sshdPaths(LAB.name, i + 1).commandsLog).length);
  let at: number[] = [];
  return {
    mark: () => {
      at = counts();
    },
    note: () => {
      const d = counts().map((n, i) => n - (at[i] ?? 0));
      return `round trips per host (last run, sshd log): max ${Math.max(...d)}, min ${Math.min(...d)}`;
    },
  };
}
