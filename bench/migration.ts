// `npm run bench -- --only migration`: the same guest migrated back and forth between two libvirt
// lab hosts under each setting, on an unlimited and a rate-limited migration link, at two dirty
// rates; then the default migration before and after cluster-tune.yml's network and sysctl tasks.
// Every migration goes through the real CLI and the virsh_migrate module; figures come from the
// module's own record (JSON report metrics), medians of N runs.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../engine/paths.js';
import type { Row } from './report.js';

interface MigLab {
  name: string;
  inventoryPath: string;
  hosts: Array<{ name: string }>;
}

interface KvmApi {
  labUp(o: { name: string; hosts: number; octet: number; libvirt: boolean }): Promise<MigLab>;
  labDown(name: string): Promise<unknown>;
  labGuest(lab: MigLab, o: { name: string; on: string; memoryMib: number; dirtyRateMib: number; workingSetMib: number }): Promise<unknown>;
  setDirtyRate(lab: MigLab, host: string, dom: string, mibps: number): Promise<void>;
  guestLocation(lab: MigLab, dom: string): Promise<string[]>;
  guestSerialLog(lab: MigLab, dom: string): Promise<string>;
  parseSerialLog(text: string): { boots: number; ticks: number[] };
  labLink(lab: MigLab, o: { rateMbit: number | null }): Promise<void>;
}

/** Bench labs: 27 and 29 are taken; a developer's PLAY_TEST_* shift and tag keep parallel runs apart. */
export const MIG_LAB = { name: `benchmig${process.env.PLAY_TEST_LAB_TAG ?? ''}`, octet: (28 + Number(process.env.PLAY_TEST_OCTET_SHIFT ?? 0)) % 256 };
const GUEST = 'bm';

export const SETTINGS: Array<{ name: string; params: Record<string, unknown> }> = [
  { name: 'pre-copy (default)', params: { policy: 'precopy' } },
  { name: 'converge', params: { policy: 'converge', stall_window_s: 3 } },
  { name: 'post-copy', params: { policy: 'postcopy' } },
  { name: 'multifd 4', params: { policy: 'precopy', parallel_connections: 4 } },
  { name: 'TLS', params: { policy: 'precopy', tls: true } },
  { name: 'compressed', params: { policy: 'precopy', compressed: true } },
];

export interface MigrationOptions {
  runs: number;
  /** Rate-limited link (Mbit/s); the other case is unlimited. */
  linkMbit: number;
  dirtyRates: number[];
  /** Completion timeout per GiB: a setting that cannot converge is aborted, and says so. */
  timeoutPerGibS: number;
}

interface Sample {
  ok: boolean;
  /** The guest's dirtier kept ticking after the migration (a hung or rebooted guest is not ok). */
  alive: boolean;
  total_s?: number;
  downtime_ms?: number;
  data_mib?: number;
  strategy: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
};

/** One migration through `play run`: from wherever the guest is to the other host. */
async function migrateOnce(api: KvmApi, lab: MigLab, work: string, params: Record<string, unknown>, timeoutPerGibS: number): Promise<Sample> {
  const [from] = await api.guestLocation(lab, GUEST);
  const to = from === 'hv1' ? 'hv2' : 'hv1';
  const pb = join(work, 'migrate.yml');
  const task = { domain: GUEST, to, timeout_per_gib_s: timeoutPerGibS, ...params };
  writeFileSync(pb, `- hosts: ${from}\n  gather_facts: false\n  tasks:\n    - name: migrate\n      virsh_migrate: ${JSON.stringify(task)}\n`);
  const report = join(work, 'report.json');
  try {
    execFileSync(process.execPath, [rootPath('dist/engine/cli.js'), 'run', pb, '-i', lab.inventoryPath, '--report', `json=${report}`], { stdio: 'ignore', env: { ...process.env, CI: 'true' } });
  } catch {
    /* an aborted migration exits 4: its record is in the report */
  }
  const t = JSON.parse(readFileSync(report, 'utf8')).hosts[0].tasks[0] as { status: string; metrics?: Record<string, number | string> };
  const m = t.metrics ?? {};
  const alive = await ticking(api, lab);
  return { ok: t.status === 'changed' && alive, alive, total_s: Number(m.total_s), downtime_ms: Number(m.downtime_ms), data_mib: Number(m.data_mib), strategy: String(m.strategy ?? t.status) };
}

/** One boot, and new ticks on the serial log within 4 s: the guest lives. */
async function ticking(api: KvmApi, lab: MigLab): Promise<boolean> {
  const before = api.parseSerialLog(await api.guestSerialLog(lab, GUEST));
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = api.parseSerialLog(await api.guestSerialLog(lab, GUEST));
    if (now.boots === 1 && now.ticks.length > before.ticks.length) return true;
  }
  return false;
}

function summaryRow(kase: string, samples: Sample[]): Row {
  const ok = samples.filter((s) => s.ok);
  const hung = samples.filter((s) => !s.alive).length;
  const strategies = [...new Set(samples.map((s) => s.strategy))].map((st) => `${st} ${samples.filter((s) => s.strategy === st).length}/${samples.length}`).join(', ');
  const total = median(ok.map((s) => s.total_s!));
  const down = median(ok.map((s) => s.downtime_ms!));
  const data = median(ok.map((s) => s.data_mib!));
  return {
    section: 'migration',
    case: kase,
    wallMs: ok.length ? total * 1000 : undefined,
    runs: samples.length,
    note: `${ok.length ? `downtime ${down} ms · ${data} MiB sent · ${strategies}` : `did not finish: ${strategies}`}${hung ? ` · GUEST NOT TICKING after ${hung}/${samples.length}` : ''}`,
    extra: { total_s: total, downtime_ms: down, data_mib: data, strategies: hung ? `${strategies}; guest not ticking after ${hung}` : strategies, samples },
  };
}

async function series(api: KvmApi, lab: MigLab, work: string, kase: string, params: Record<string, unknown>, o: MigrationOptions, rows: Row[]): Promise<void> {
  process.stderr.write(`bench: migration ${kase} …\n`);
  const samples: Sample[] = [];
  for (let i = 0; i < o.runs; i++) samples.push(await migrateOnce(api, lab, work, params, o.timeoutPerGibS));
  rows.push(summaryRow(kase, samples));
}

export async function migrationSection(o: MigrationOptions, work: string, rows: Row[]): Promise<void> {
  let api: KvmApi;
  try {
    api = (await import(rootPath('dist/engine/lab/index.js'))) as KvmApi;
  } catch (e) {
    rows.push({ section: 'migration', case: 'libvirt lab', note: `not available: ${(e as Error).message}` });
    return;
  }
  let lab: MigLab;
  try {
    await api.labDown(MIG_LAB.name);
    lab = await api.labUp({ ...MIG_LAB, hosts: 2, libvirt: true });
    await api.labGuest(lab, { name: GUEST, on: 'hv1', memoryMib: 512, workingSetMib: 64, dirtyRateMib: o.dirtyRates[0] });
  } catch (e) {
    rows.push({ section: 'migration', case: 'libvirt lab', note: `not available: lab up failed: ${(e as Error).message.split('\n')[0]}` });
    await api.labDown(MIG_LAB.name).catch(() => undefined);
    return;
  }
  try {
    for (const link of [null, o.linkMbit]) {
      await api.labLink(lab, { rateMbit: link });
      for (const rate of o.dirtyRates) {
        await api.setDirtyRate(lab, (await api.guestLocation(lab, GUEST))[0], GUEST, rate);
        for (const s of SETTINGS) await series(api, lab, work, `${s.name}, ${link ? `${link} Mbit/s` : 'unlimited'} link, dirty ${rate} MiB/s`, s.params, o, rows);
      }
    }
    await api.labLink(lab, { rateMbit: null });
    await api.setDirtyRate(lab, (await api.guestLocation(lab, GUEST))[0], GUEST, o.dirtyRates[0]);
    await series(api, lab, work, 'before cluster-tune.yml (MTU 1500, stock TCP buffers)', { policy: 'precopy' }, o, rows);
    // The network and sysctl parts only: its qemu.conf part forces TLS and restarts libvirt.
    execFileSync(process.execPath, [rootPath('dist/engine/cli.js'), 'run', 'cluster-tune.yml', '-i', lab.inventoryPath, '--tags', 'network,sysctl'], { stdio: 'ignore', env: { ...process.env, CI: 'true' } });
    await series(api, lab, work, 'after cluster-tune.yml (MTU 9000, TCP buffers)', { policy: 'precopy' }, o, rows);
  } finally {
    await api.labDown(MIG_LAB.name).catch(() => undefined);
  }
}

/** The migration rows as their own table: total, downtime, data and what finished each. */
export function migrationTable(rows: Row[]): string {
  const out = ['| case | total s (median) | downtime ms | data MiB | runs | strategy |', '|---|---:|---:|---:|---:|---|'];
  for (const r of rows.filter((x) => x.section === 'migration' && x.extra)) {
    const e = r.extra as { total_s: number; downtime_ms: number; data_mib: number; strategies: string };
    const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '–');
    out.push(`| ${r.case} | ${f(e.total_s, 2)} | ${f(e.downtime_ms, 0)} | ${f(e.data_mib)} | ${r.runs} | ${e.strategies} |`);
  }
  return out.join('\n');
}
