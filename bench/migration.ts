// `npm run bench -- --only migration`: one guest on a 2-host libvirt lab, migrated back and forth
// by play's virsh_migrate (through the real CLI and the engine's loop) under each setting, on an
// unlimited and a tbf-limited migration link, at two dirty rates; then the same migration before
// and after cluster-tune.yml. Every number comes from the module's migration-latency record in
// the JSON report of that run.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  guestDefinedOn, guestLocation, guestSerialLog, hostExec, hostExecOk, labDown, labGuest, labLink, labUp, parseSerialLog, type LabInfo,
} from '../engine/lab/index.js';
import { ensureDebianPackages } from '../engine/lab/packages.js';
import { LAB_PACKAGES, LIBVIRT_LAB_PACKAGES } from '../engine/lab/requirements.js';
import { rootPath } from '../engine/paths.js';
import type { Row } from './report.js';

/** Each setting: virsh_migrate parameters on top of the bench's common ones. */
export const MIGRATION_SETTINGS: Record<string, Record<string, string | number | boolean>> = {
  precopy: { policy: 'precopy' },
  // The module's default policy; stall_window_s 3 so its downtime ramp fits in the bench's timeout.
  converge: { policy: 'converge', stall_window_s: 3 },
  // converge as the issue describes it for a link slower than the dirty rate: post-copy last.
  'converge+postcopy': { policy: 'converge', stall_window_s: 3, allow_postcopy: true },
  postcopy: { policy: 'postcopy' },
  multifd4: { policy: 'precopy', parallel_connections: 4 },
  tls: { policy: 'precopy', tls: true },
  compressed: { policy: 'precopy', compressed: true },
};

export interface MigrationOptions {
  runs: number;
  settings: string[];
  /** Mbit/s; null: unlimited. */
  links: Array<number | null>;
  dirtyRates: number[];
  memoryMib: number;
  workingSetMib: number;
  timeoutPerGibS: number;
  maxDowntimeMs: number;
  tune: boolean;
  /** The dirty rate of the before/after cluster-tune.yml comparison; default the lowest. */
  tuneDirtyRate?: number;
  lab: string;
  octet: number;
}

interface Sample {
  ok: boolean;
  totalS?: number;
  downtimeMs?: number;
  dataMib?: number;
  strategy: string;
  from: string;
  to: string;
  message?: string;
  /** The guest's dirtier ticks per second of play's wall time (1 = it dirtied at its full rate). */
  ticksPerS: number;
}

interface Cell {
  setting: string;
  link: string;
  dirty: number;
  phase: 'matrix' | 'before tune' | 'after tune';
  samples: Sample[];
}

const GUEST = 'bm1';
const CLI = rootPath('dist', 'engine', 'cli.js');
const linkName = (l: number | null) => (l === null ? 'unlimited' : `${l} Mbit/s`);

export function parseLinks(s: string): Array<number | null> {
  return s.split(',').map((x) => x.trim()).filter(Boolean).map((x) => {
    if (x === 'none' || x === 'unlimited') return null;
    if (!/^[0-9]+$/.test(x)) throw new Error(`--mig-links: '${x}' is not a rate in Mbit/s nor 'none'`);
    return Number(x);
  });
}

function playbook(setting: string, o: MigrationOptions): string {
  const params = { timeout_per_gib_s: o.timeoutPerGibS, max_downtime_ms: o.maxDowntimeMs, ...MIGRATION_SETTINGS[setting] };
  const lines = Object.entries(params).map(([k, v]) => `        ${k}: ${JSON.stringify(v)}`);
  return [
    `- name: bench migration, ${setting}`,
    '  hosts: "{{from}}"',
    '  gather_facts: false',
    '  tasks:',
    '    - name: Migrate',
    '      virsh_migrate:',
    '        domain: "{{vm}}"',
    '        to: "{{to}}"',
    ...lines,
    '',
  ].join('\n');
}

/** The lines of a crash that say what it was (an uncaught error's message and first frame). */
const errorLines = (text: string): string => {
  const lines = text.trim().split('\n');
  const i = lines.findIndex((l) => /Error\b|error:/.test(l));
  return (i < 0 ? lines.slice(-2) : lines.slice(i, i + 2)).map((l) => l.trim()).join(' ');
};

/** Where the guest runs once a migration has settled (a switch-over in progress shows it nowhere). */
async function settledLocation(lab: LabInfo): Promise<string[]> {
  const end = Date.now() + 30_000;
  for (;;) {
    const where = await guestLocation(lab, GUEST);
    if (where.length === 1 || Date.now() > end) return where;
    await new Promise((r) => setTimeout(r, 500));
  }
}

interface TaskJson {
  task: string;
  status?: string;
  messages?: string[];
  metrics?: Record<string, number | string>;
}

/** One migration of the guest to the other host through `play run`; its latency record. */
async function migrateOnce(lab: LabInfo, pb: string, work: string): Promise<Sample> {
  const where = await guestLocation(lab, GUEST);
  if (where.length !== 1) throw new Error(`guest ${GUEST} runs on [${where.join(', ')}]: expected exactly one host`);
  const from = where[0];
  const to = from === 'hv1' ? 'hv2' : 'hv1';
  const report = join(work, 'mig-report.json');
  rmSync(report, { force: true });
  const ticks = async () => parseSerialLog(await guestSerialLog(lab, GUEST)).ticks.length;
  const ticks0 = await ticks();
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, 'run', pb, '-i', lab.inventoryPath, '-e', `vm=${GUEST}`, '-e', `from=${from}`, '-e', `to=${to}`, '--report', `json=${report}`], {
    encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' }, timeout: 600_000,
  });
  let task: TaskJson | undefined;
  try {
    const j = JSON.parse(readFileSync(report, 'utf8')) as { hosts: Array<{ name: string; tasks: TaskJson[] }> };
    task = j.hosts.find((h) => h.name === from)?.tasks.find((t) => t.task === 'Migrate');
  } catch {
    /* no report: the message below says why */
  }
  // The dirtier ticks once per `rate` MiB written: below ~1 tick/s it was starved during the run.
  const ticksPerS = (await ticks() - ticks0) / ((Date.now() - t0) / 1000);
  const after = await settledLocation(lab);
  if (after.length !== 1) {
    // Lost (or doubled): the worst outcome, kept as a sample; the cell starts a fresh guest.
    const log = rootPath('bench', 'results', `migration-lost-${Date.now()}.log`);
    const states = await Promise.all(lab.hosts.map(async (h) => `${h.name}: ${(await hostExec(lab, h, `virsh -c qemu:///system list --all; virsh -c qemu:///system domstate --reason ${GUEST}`)).stdout}`));
    // The guest's own last words (a panic?) before freshGuest truncates its serial log.
    const serial = (await guestSerialLog(lab, GUEST)).split('\n').slice(-60).join('\n');
    writeFileSync(log, `${r.stdout}\n${r.stderr}\n${states.join('\n')}\n--- serial log (last 60 lines)\n${serial}\n`);
    const why = `play exit ${r.status}, guest runs on [${after.join(', ')}] 30 s later: ${task?.messages?.join(' ') ?? errorLines(r.stderr)} (output: ${log})`;
    return { ok: false, strategy: 'GUEST LOST', from, to, message: why.slice(0, 400), ticksPerS };
  }
  const m = task?.metrics ?? {};
  const num = (k: string) => (m[k] === undefined ? undefined : Number(m[k]));
  const ok = r.status === 0 && task?.status === 'changed' && after[0] === to;
  const message = ok ? undefined : (task?.messages?.join(' ') || `play exited ${r.status}: ${errorLines(r.stderr || r.stdout)}`).slice(0, 300);
  return { ok, totalS: num('total_s'), downtimeMs: num('downtime_ms'), dataMib: num('data_mib'), strategy: String(m.strategy ?? (ok ? '?' : 'failed')), from, to, message, ticksPerS };
}

const median = (xs: number[]): number | undefined => {
  if (!xs.length) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};

/** Medians over the runs that finished; the strategies with their counts ("precopy", "aborted 3/3"). */
export function summarize(samples: Sample[]): { totalS?: number; downtimeMs?: number; dataMib?: number; strategy: string; abortedAfterS?: number; ticksPerS?: number } {
  const done = samples.filter((s) => s.ok);
  const counts = new Map<string, number>();
  for (const s of samples) counts.set(s.strategy, (counts.get(s.strategy) ?? 0) + 1);
  const strategy = [...counts].map(([k, n]) => (n === samples.length ? k : `${k} ${n}/${samples.length}`)).join(', ');
  const pick = (k: 'totalS' | 'downtimeMs' | 'dataMib') => median(done.map((s) => s[k]).filter((v): v is number => v !== undefined));
  const failed = samples.filter((s) => !s.ok).map((s) => s.totalS).filter((v): v is number => v !== undefined);
  return { totalS: pick('totalS'), downtimeMs: pick('downtimeMs'), dataMib: pick('dataMib'), strategy, abortedAfterS: done.length ? undefined : median(failed), ticksPerS: median(samples.map((s) => s.ticksPerS)) };
}

const f = (n: number | undefined, d = 1) => (n === undefined ? '–' : n.toFixed(d));

export function migrationTable(cells: Cell[]): string {
  const out = ['| dirty rate | link | setting | total time | downtime | data sent | finished by | guest ticks/s | runs |', '|---:|---|---|---:|---:|---:|---|---:|---:|'];
  for (const c of cells) {
    const s = summarize(c.samples);
    const total = s.totalS !== undefined ? `${f(s.totalS)} s` : s.abortedAfterS !== undefined ? `(aborted at ${f(s.abortedAfterS)} s)` : '–';
    const setting = c.phase === 'matrix' ? c.setting : `${c.setting}, ${c.phase}`;
    out.push(`| ${c.dirty} MiB/s | ${c.link} | ${setting} | ${total} | ${s.downtimeMs !== undefined ? `${f(s.downtimeMs, 0)} ms` : '–'} | ${s.dataMib !== undefined ? `${f(s.dataMib, 0)} MiB` : '–'} | ${s.strategy} | ${f(s.ticksPerS, 2)} | ${c.samples.length} |`);
  }
  return out.join('\n');
}

/** Runs one cell: `runs` migrations, each to the other host; a failure is a sample, not a crash. */
async function runCell(lab: LabInfo, o: MigrationOptions, work: string, cell: Omit<Cell, 'samples'>): Promise<Cell> {
  const pb = join(work, `mig-${cell.setting}.yml`);
  writeFileSync(pb, playbook(cell.setting, o));
  const samples: Sample[] = [];
  await assertTicking(lab);
  for (let i = 0; i < o.runs; i++) {
    const s = await migrateOnce(lab, pb, work);
    process.stderr.write(`bench: migration ${cell.setting}${cell.phase === 'matrix' ? '' : ` (${cell.phase})`}, ${cell.link}, ${cell.dirty} MiB/s, run ${i + 1}: ${s.from}→${s.to} ${s.ok ? `${s.totalS} s, downtime ${s.downtimeMs} ms, ${s.dataMib} MiB, ${s.strategy}` : `not done: ${s.message}`}; guest ${s.ticksPerS.toFixed(2)} ticks/s\n`);
    samples.push(s);
    if (s.strategy === 'GUEST LOST') await freshGuest(lab, o, cell.dirty);
  }
  return { ...cell, samples };
}

function row(c: Cell): Row {
  const s = summarize(c.samples);
  return {
    section: 'migration',
    case: `${c.setting}${c.phase === 'matrix' ? '' : ` (${c.phase})`}, link ${c.link}, dirty ${c.dirty} MiB/s`,
    wallMs: s.totalS === undefined ? undefined : s.totalS * 1000,
    runs: c.samples.length,
    note: `downtime ${f(s.downtimeMs, 0)} ms; data ${f(s.dataMib, 0)} MiB; finished by ${s.strategy}; guest ${f(s.ticksPerS, 2)} ticks/s${s.abortedAfterS !== undefined ? `; aborted at ${f(s.abortedAfterS)} s` : ''}`,
    extra: { ...c, summary: s },
  };
}

/** The whole section; returns the rows for latest.json and the markdown table. */
export async function migrationSection(o: MigrationOptions, work: string, rows: Row[]): Promise<string> {
  // As `play lab up --libvirt` does: a fresh machine (or one a CI run stripped) gets the packages.
  const log = (l: string) => process.stderr.write(`bench: ${l}\n`);
  await ensureDebianPackages(LAB_PACKAGES, 'bench migration', { log });
  await ensureDebianPackages(LIBVIRT_LAB_PACKAGES, 'bench migration', { log });
  await labDown(o.lab); // a crashed run's leftovers
  const lab = await labUp({ name: o.lab, hosts: 2, octet: o.octet, libvirt: true });
  const cells: Cell[] = [];
  try {
    const setRate = (d: number) => freshGuest(lab, o, d);
    for (const dirty of o.dirtyRates) {
      await setRate(dirty);
      for (const link of o.links) {
        await labLink(lab, { rateMbit: link });
        for (const setting of o.settings) cells.push(await runCell(lab, o, work, { setting, link: linkName(link), dirty, phase: 'matrix' }));
      }
    }
    if (o.tune) await tuneComparison(lab, o, work, cells, setRate);
    const log = parseSerialLog(await guestSerialLog(lab, GUEST));
    rows.push({ section: 'migration', case: `guest ${GUEST} after every migration`, note: `${log.boots} boot(s), ${log.gaps} gaps in its ticks, runs on ${(await guestLocation(lab, GUEST)).join(', ')}` });
  } catch (e) {
    // The cells measured so far still count: the table shows them, this row says where it stopped.
    rows.push({ section: 'migration', case: `stopped after ${cells.length} cells`, note: `not available: ${(e as Error).message.split('\n')[0]}` });
  } finally {
    await labLink(lab, { rateMbit: null }).catch(() => undefined);
    await labDown(o.lab).catch(() => undefined);
    for (const c of cells) rows.push(row(c));
  }
  return migrationTable(cells);
}

/**
 * A new guest for each dirty rate instead of setDirtyRate: after dozens of migrations, a rate
 * change through the serial pty left the guest halted with its output blocked (no tick for
 * minutes, vCPU in HLT, migrations then moved an idle guest), or was never confirmed.
 */
async function freshGuest(lab: LabInfo, o: MigrationOptions, dirtyRateMib: number): Promise<void> {
  for (const h of await guestLocation(lab, GUEST)) await hostExecOk(lab, h, `virsh -c qemu:///system destroy ${GUEST}`);
  for (const h of await guestDefinedOn(lab, GUEST)) await hostExecOk(lab, h, `virsh -c qemu:///system undefine ${GUEST}`);
  await labGuest(lab, { name: GUEST, on: 'hv1', memoryMib: o.memoryMib, workingSetMib: o.workingSetMib, dirtyRateMib });
}

/** Fails the cell when the guest stopped ticking (then it dirties nothing and the numbers lie). */
async function assertTicking(lab: LabInfo): Promise<void> {
  const before = parseSerialLog(await guestSerialLog(lab, GUEST)).ticks.length;
  await new Promise((r) => setTimeout(r, 2500));
  if (parseSerialLog(await guestSerialLog(lab, GUEST)).ticks.length <= before) throw new Error(`guest ${GUEST} stopped ticking on its serial log: its dirtier is not running`);
}

/**
 * The same TLS migration before and after cluster-tune.yml (MTU 9000, TCP buffers, TLS forced,
 * firewall) at the lower dirty rate on each link. TLS on both sides because the tuned hosts refuse
 * a migration without it (migrate_tls_force).
 */
async function tuneComparison(lab: LabInfo, o: MigrationOptions, work: string, cells: Cell[], setRate: (d: number) => Promise<void>): Promise<void> {
  const dirty = o.tuneDirtyRate ?? Math.min(...o.dirtyRates);
  await setRate(dirty);
  for (const link of o.links) {
    await labLink(lab, { rateMbit: link });
    cells.push(await runCell(lab, o, work, { setting: 'tls', link: linkName(link), dirty, phase: 'before tune' }));
  }
  await labLink(lab, { rateMbit: null });
  const r = spawnSync(process.execPath, [CLI, 'run', 'cluster-tune.yml', '-i', lab.inventoryPath], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' }, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`cluster-tune.yml failed (exit ${r.status}): ${r.stdout.trim().split('\n').slice(-6).join(' | ')}`);
  for (const link of o.links) {
    await labLink(lab, { rateMbit: link });
    cells.push(await runCell(lab, o, work, { setting: 'tls', link: linkName(link), dirty, phase: 'after tune' }));
  }
}
