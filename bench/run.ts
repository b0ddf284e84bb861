// `npm run bench`: the whole benchmark in one run; prints markdown tables and writes
// bench/results/latest.json. Sections (filter with --only a,b): inventory, sim, sim-rtt (1,000
// simulated hosts, 50 ms per exec), sim-10k (10,000 simulated hosts), floor, play, ansible,
// migration (bench/migration.ts: virsh_migrate on a libvirt lab), evacuation (bench/evacuation.ts:
// evacuate-host.yml on a 3-host libvirt lab).
// Parts that need something missing (the engine CLI, the lab, Ansible) are reported as
// "not available: <reason>" instead of stopping the rest.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { rootPath } from '../engine/paths.js';
import { ensureTools } from './tools.js';
import { generateInventory } from './gen-inventory.js';
import { writeBenchWork } from './gen-playbook.js';
import { measure, type Measurement, type RunOptions } from './measure.js';
import { checkTarget, linearFit, markdownTable, targetsTable, type Row, type Target } from './report.js';
import { startSim, type SimHandle } from './sim/sim-process.js';
import type { SimStats } from './sim/server.js';
import { evacuationSection } from './evacuation.js';
import { MIGRATION_SETTINGS, migrationSection, parseLinks } from './migration.js';
import { LAB, execCounter, labDown, labInventory, labTargets, labUp, readBaseline, resetHosts, type BenchLab } from './lab-work.js';

const SECTIONS = ['inventory', 'sim', 'sim-rtt', 'sim-10k', 'floor', 'play', 'ansible', 'migration', 'evacuation'] as const;
type Section = (typeof SECTIONS)[number];

const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
const nums = (s: string) => list(s).map(Number);

function options() {
  const { values } = parseArgs({
    options: {
      only: { type: 'string', default: SECTIONS.join(',') },
      runs: { type: 'string', default: '3' },
      quick: { type: 'boolean', default: false },
      'sim-hosts': { type: 'string', default: '1000,2500,5000' },
      'sim-forks': { type: 'string', default: '50,200,500' },
      'sim-workers': { type: 'string', default: '1' },
      'sim-latency-ms': { type: 'string', default: '2' },
      'sim-ports': { type: 'string', default: '4' },
      'sim-base-port': { type: 'string', default: '22000' },
      'rtt-ms': { type: 'string', default: '50' },
      'rtt-hosts': { type: 'string', default: '1000' },
      'rtt-forks': { type: 'string', default: '1000' },
      'big-hosts': { type: 'string', default: '10000' },
      'big-forks': { type: 'string', default: '200' },
      'scale-sim-workers': { type: 'string', default: '2' },
      'lab-hosts': { type: 'string', default: '1,10,30' },
      tasks: { type: 'string', default: '10,50' },
      'inventory-hosts': { type: 'string', default: '10000' },
      'ansible-inventory-hosts': { type: 'string', default: '1000' },
      out: { type: 'string', default: rootPath('bench/results/latest.json') },
      'mig-settings': { type: 'string', default: Object.keys(MIGRATION_SETTINGS).join(',') },
      'mig-links': { type: 'string', default: 'none,200' },
      'mig-dirty-rates': { type: 'string', default: '8,32' },
      'mig-memory': { type: 'string', default: '512' },
      'mig-working-set': { type: 'string', default: '64' },
      'mig-timeout-per-gib': { type: 'string', default: '60' },
      'mig-max-downtime': { type: 'string', default: '500' },
      'mig-no-tune': { type: 'boolean', default: false },
      'mig-tune-dirty-rate': { type: 'string' },
      'mig-lab': { type: 'string', default: 'benchmig' },
      'mig-octet': { type: 'string', default: '28' },
    },
  });
  const settings = list(values['mig-settings']!);
  for (const s of settings) if (!(s in MIGRATION_SETTINGS)) throw new Error(`--mig-settings: unknown setting '${s}' (settings: ${Object.keys(MIGRATION_SETTINGS).join(', ')})`);
  const only = list(values.only!);
  for (const s of only) if (!(SECTIONS as readonly string[]).includes(s)) throw new Error(`--only: unknown section '${s}' (sections: ${SECTIONS.join(', ')})`);
  const q = values.quick!;
  return {
    only: new Set(only as Section[]),
    runs: q ? 1 : Number(values.runs),
    simHosts: q ? [1000] : nums(values['sim-hosts']!),
    simForks: q ? [200] : nums(values['sim-forks']!),
    simWorkers: Number(values['sim-workers']),
    simLatencyMs: Number(values['sim-latency-ms']),
    simPorts: Number(values['sim-ports']),
    simBasePort: Number(values['sim-base-port']),
    rtt: { latencyMs: Number(values['rtt-ms']), hosts: Number(values['rtt-hosts']), forks: nums(values['rtt-forks']!) },
    big: { hosts: Number(values['big-hosts']), forks: nums(values['big-forks']!) },
    scaleSimWorkers: Number(values['scale-sim-workers']),
    labHosts: q ? [1, 10] : nums(values['lab-hosts']!),
    tasks: q ? [10] : nums(values.tasks!),
    inventoryHosts: Number(values['inventory-hosts']),
    ansibleInventoryHosts: nums(values['ansible-inventory-hosts']!),
    out: values.out!,
    migration: {
      runs: q ? 1 : Number(values.runs),
      settings,
      links: parseLinks(values['mig-links']!),
      dirtyRates: q ? nums(values['mig-dirty-rates']!).slice(-1) : nums(values['mig-dirty-rates']!),
      memoryMib: Number(values['mig-memory']),
      workingSetMib: Number(values['mig-working-set']),
      timeoutPerGibS: Number(values['mig-timeout-per-gib']),
      maxDowntimeMs: Number(values['mig-max-downtime']),
      tune: !values['mig-no-tune'],
      tuneDirtyRate: values['mig-tune-dirty-rate'] === undefined ? undefined : Number(values['mig-tune-dirty-rate']),
      lab: values['mig-lab']!,
      octet: Number(values['mig-octet']),
    },
  };
}
type Options = ReturnType<typeof options>;

const rows: Row[] = [];
const CLI = rootPath('dist/engine/cli.js');
const node = process.execPath;

function notAvailable(section: string, kase: string, reason: string): void {
  rows.push({ section, case: kase, note: `not available: ${reason}` });
}

/** Measures and records a row; a failure becomes a "not available" row, never a crash. */
async function record(section: string, kase: string, argv: string[], runs: number, opts: RunOptions, extra?: (m: Measurement) => Partial<Row>): Promise<Measurement | undefined> {
  process.stderr.write(`bench: ${section} ${kase} …\n`);
  try {
    const m = await measure(argv, runs, opts);
    rows.push({ section, case: kase, wallMs: m.wallMs, cpuMs: m.cpuMs, peakRssKb: m.peakRssKb, runs: m.runs, ...extra?.(m) });
    return m;
  } catch (e) {
    notAvailable(section, kase, (e as Error).message);
    return undefined;
  }
}

const exitCodes = (m: Measurement) => [...new Set(m.samples.map((s) => s.code))].join('/');
const lastJson = (m: Measurement) => {
  try { return JSON.parse(m.samples[m.samples.length - 1].stdout.trim().split('\n').pop() ?? ''); } catch { return undefined; }
};

function playMissing(): string | undefined {
  return existsSync(CLI) ? undefined : 'dist/engine/cli.js is not built yet';
}

async function inventorySection(o: Options, work: string, targets: Target[]): Promise<void> {
  const inv = generateInventory({ dir: join(work, `inv-${o.inventoryHosts}`), hosts: o.inventoryHosts });
  const missing = playMissing();
  let value: number | undefined;
  if (missing) notAvailable('inventory', `play inventory --list, ${o.inventoryHosts} hosts`, missing);
  else {
    const m = await record('inventory', `play inventory --list, ${o.inventoryHosts} hosts`, [node, CLI, 'inventory', '--list', '-i', inv.file], o.runs, { timeoutMs: 120000, keepBytes: 256 << 20 }, (m) => {
      let hosts: number | undefined;
      try { hosts = Object.keys(JSON.parse(m.samples[0].stdout)._meta.hostvars).length; } catch { /* not JSON */ }
      return { note: hosts === o.inventoryHosts ? `${hosts} hosts listed` : `listed ${hosts ?? 'unparseable output'} hosts, expected ${o.inventoryHosts}` };
    });
    value = m?.wallMs;
  }
  targets.push({ goal: `${o.inventoryHosts}-host inventory loads (play inventory --list, process wall)`, value: value === undefined ? undefined : value / 1000, unit: 's', limit: 1, kind: 'max' });
  for (const n of o.ansibleInventoryHosts) {
    const ai = generateInventory({ dir: join(work, `ainv-${n}`), hosts: n });
    await record('inventory', `ansible-inventory --list, ${n} hosts`, ['ansible-inventory', '--list', '-i', ai.file], 1, { timeoutMs: 600000 });
  }
}

async function simSection(o: Options, work: string, targets: Target[]): Promise<void> {
  let sim: SimHandle;
  try {
    sim = await startSim({ ports: o.simPorts, basePort: o.simBasePort, latencyMs: o.simLatencyMs, workers: o.simWorkers, stateDir: join(work, 'sim') });
  } catch (e) {
    notAvailable('sim', 'fleet simulator', (e as Error).message);
    return;
  }
  const growth: Record<number, Array<[number, number]>> = {};
  try {
    let before = await sim.stats();
    const unknownSince = async (): Promise<string> => {
      const now: SimStats = await sim.stats();
      const n = now.unknown - before.unknown;
      const kinds = Object.keys(now.unknownCommands).filter((k) => (now.unknownCommands[k] ?? 0) > (before.unknownCommands[k] ?? 0));
      before = now;
      return n === 0 ? '0 unknown commands' : `${n} unknown commands, e.g. ${kinds.slice(0, 2).map((k) => JSON.stringify(k.slice(0, 80))).join(', ')}`;
    };
    const readsFile = writeBenchWork(10).reads;
    for (const n of o.simHosts) {
      const inv = generateInventory({ dir: join(work, `sim-inv-${n}`), hosts: n, ports: o.simPorts, basePort: o.simBasePort, keyPath: sim.info.clientKey, knownHostsPath: sim.info.knownHosts });
      const targetsFile = join(work, `sim-targets-${n}.json`);
      writeFileSync(targetsFile, JSON.stringify(inv.targets));
      for (const f of o.simForks) {
        const fm = await record('sim', `floor ssh2, ${n} hosts × 10 reads, forks ${f}`,
          [node, rootPath('dist/bench/floor.js'), '--targets', targetsFile, '--commands', readsFile, '--key', sim.info.clientKey, '--known-hosts', sim.info.knownHosts, '--forks', String(f)],
          o.runs, { timeoutMs: 300000 });
        if (fm) rows[rows.length - 1].note = `${lastJson(fm)?.execs ?? '?'} execs; ${await unknownSince()}`;
        const missing = playMissing();
        if (missing) notAvailable('sim', `play check, ${n} hosts × 10 tasks, forks ${f}`, missing);
        const pm = missing ? undefined : await record('sim', `play check, ${n} hosts × 10 tasks, forks ${f}`,
          [node, CLI, 'check', writeBenchWork(10).play, '-i', inv.file, '--forks', String(f), '--state-dir', join(work, 'state')],
          o.runs, { timeoutMs: 300000, okCodes: [0, 2, 4] });
        if (pm) {
          rows[rows.length - 1].note = `exit ${exitCodes(pm)}; ${await unknownSince()}`;
          (growth[f] ??= []).push([n, pm.peakRssKb]);
        }
        if (n === 1000) {
          targets.push({ goal: `play check 1,000 simulated hosts × 10 tasks, forks ${f}: wall`, value: pm && pm.wallMs / 1000, unit: 's', limit: 15, kind: 'max' });
          targets.push({ goal: `play check 1,000 simulated hosts × 10 tasks, forks ${f}: peak RSS`, value: pm && pm.peakRssKb / 1024, unit: 'MiB', limit: 400, kind: 'max' });
        }
      }
    }
  } finally {
    const s = await sim.stop().catch(() => undefined);
    if (s) rows.push({ section: 'sim', case: 'the simulator itself (whole section)', wallMs: s.seconds * 1000, cpuMs: s.cpuUserMs + s.cpuSystemMs, peakRssKb: s.maxRssKb, note: `${s.connections} connections, ${s.execs} execs, ${s.unknown} unknown, ${s.errors} errors`, extra: { ...s } });
  }
  for (const [f, pts] of Object.entries(growth)) {
    if (pts.length < 2) continue;
    const fit = linearFit(pts.map((p) => p[0]), pts.map((p) => p[1]));
    rows.push({ section: 'sim', case: `play check memory growth, forks ${f}`, note: `${(fit.slope).toFixed(1)} KiB per host, ${(fit.intercept / 1024).toFixed(0)} MiB base, R² ${fit.r2.toFixed(3)} over ${pts.length} sizes` });
  }
}

/**
 * One fleet size against its own simulator: play check of the 10-task bench playbook, with the
 * round trips per host counted by the simulator (execs and connections between the runs).
 */
async function scaleSection(o: Options, work: string, targets: Target[], c: {
  section: string; hosts: number; latencyMs: number; forks: number[]; basePort: number; wallLimitS: number; rssLimitMiB?: number;
}): Promise<void> {
  const label = `${c.hosts.toLocaleString('en')} hosts × 10 tasks, ${c.latencyMs} ms per exec`;
  const missing = playMissing();
  if (missing) return notAvailable(c.section, `play check, ${label}`, missing);
  let sim: SimHandle;
  try {
    sim = await startSim({ ports: o.simPorts, basePort: c.basePort, latencyMs: c.latencyMs, workers: o.scaleSimWorkers, stateDir: join(work, `sim-${c.section}`) });
  } catch (e) {
    return notAvailable(c.section, `fleet simulator (${c.latencyMs} ms per exec)`, (e as Error).message);
  }
  try {
    const inv = generateInventory({ dir: join(work, `${c.section}-inv-${c.hosts}`), hosts: c.hosts, ports: o.simPorts, basePort: c.basePort, keyPath: sim.info.clientKey, knownHostsPath: sim.info.knownHosts });
    const play = writeBenchWork(10).play;
    for (const f of c.forks) {
      let before = await sim.stats();
      const simCpu: number[] = [];
      const perHost: string[] = [];
      // Counted per run (between runs, untimed): execs and connections per host, the simulator's CPU.
      const count = async () => {
        const now = await sim.stats();
        perHost.push(`${((now.execs - before.execs) / c.hosts).toFixed(2)} execs and ${((now.connections - before.connections) / c.hosts).toFixed(2)} connections per host${now.unknown > before.unknown ? `, ${now.unknown - before.unknown} unknown commands` : ''}`);
        simCpu.push(now.cpuUserMs + now.cpuSystemMs - before.cpuUserMs - before.cpuSystemMs);
        before = now;
      };
      let first = true;
      const m = await record(c.section, `play check, ${label}, forks ${f}`,
        [node, CLI, 'check', play, '-i', inv.file, '--forks', String(f), '--state-dir', join(work, 'state')],
        o.runs, { timeoutMs: 600000, okCodes: [0, 2, 4, 6], before: async () => { if (!first) await count(); first = false; } });
      if (m) {
        await count();
        const simMs = [...simCpu].sort((a, b) => a - b)[simCpu.length >> 1];
        const row = rows[rows.length - 1];
        // Unreachable hosts (exit 4/6) did less work: the summary line says how many.
        const unreachable = m.samples.map((x) => /(\d+) unreachable\s*$/m.exec(x.stdout)?.[1] ?? '0');
        row.note = `exit ${exitCodes(m)}; unreachable ${unreachable.join(', ')}; ${[...new Set(perHost)].join(' / ')}; simulator CPU ${(simMs / 1000).toFixed(1)} s (${o.scaleSimWorkers} worker${o.scaleSimWorkers > 1 ? 's' : ''}); walls ${m.samples.map((x) => (x.wallMs / 1000).toFixed(1)).join(', ')} s`;
        row.extra = { simCpuMs: simCpu, walls: m.samples.map((x) => x.wallMs), rss: m.samples.map((x) => x.peakRssKb), perHost };
      }
      targets.push({ goal: `play check ${label}, forks ${f}: wall`, value: m && m.wallMs / 1000, unit: 's', limit: c.wallLimitS, kind: 'max' });
      if (c.rssLimitMiB) targets.push({ goal: `play check ${label}, forks ${f}: peak RSS`, value: m && m.peakRssKb / 1024, unit: 'MiB', limit: c.rssLimitMiB, kind: 'max' });
    }
  } finally {
    const s = await sim.stop().catch(() => undefined);
    if (s) rows.push({ section: c.section, case: `the simulator itself (${c.latencyMs} ms per exec)`, wallMs: s.seconds * 1000, cpuMs: s.cpuUserMs + s.cpuSystemMs, peakRssKb: s.maxRssKb, note: `${s.connections} connections, ${s.execs} execs, ${s.unknown} unknown, ${s.errors} errors, peak ${s.peakConcurrent} connections at once`, extra: { ...s } });
  }
}

async function labSection(o: Options, work: string, targets: Target[]): Promise<void> {
  const maxK = Math.max(...o.labHosts);
  let lab: BenchLab;
  try {
    lab = await labUp(maxK);
  } catch (e) {
    for (const s of ['floor', 'play', 'ansible'] as const) if (o.only.has(s)) notAvailable(s, `lab '${LAB.name}'`, `lab up failed: ${(e as Error).message.split('\n')[0]}`);
    return;
  }
  try {
    const baseline = await readBaseline(lab);
    const ansibleEnv = {
      ...process.env,
      ANSIBLE_PIPELINING: 'True',
      ANSIBLE_SSH_ARGS: '-o ControlMaster=auto -o ControlPersist=60s',
      ANSIBLE_SSH_CONTROL_PATH_DIR: join(work, 'ansible-cp'),
      ANSIBLE_HOST_KEY_CHECKING: 'True',
      ANSIBLE_RETRY_FILES_ENABLED: 'False',
      ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp'),
      ANSIBLE_STDOUT_CALLBACK: 'default',
      ANSIBLE_NOCOLOR: '1',
    };
    for (const k of o.labHosts) {
      const inv = await labInventory(lab, k, work);
      const targetsFile = join(work, `lab-targets-${k}.json`);
      writeFileSync(targetsFile, JSON.stringify(labTargets(lab, k)));
      const reset = () => resetHosts(lab, k, baseline);
      for (const m of o.tasks) {
        const files = writeBenchWork(m);
        const kase = (what: string) => `${what}, K=${k} hosts, M=${m} tasks`;
        const wall: Record<string, number | undefined> = {};
        if (o.only.has('floor')) {
          for (const mode of ['ssh2', 'controlmaster']) {
            const fm = await record('floor', kase(`floor ${mode}`),
              [node, rootPath('dist/bench/floor.js'), '--mode', mode, '--targets', targetsFile, '--commands', files.reads, '--key', lab.keyPath, '--known-hosts', lab.knownHostsPath, '--forks', String(k)],
              o.runs, { timeoutMs: 300000 }, (mm) => {
                const j = lastJson(mm);
                return { note: j ? `commands over open connections: ${Math.round(j.commandsMs)} ms${mode === 'ssh2' ? ' per host' : ''}` : undefined };
              });
            wall[`floor-${mode}`] = fm?.wallMs;
          }
        }
        if (o.only.has('play')) {
          const missing = playMissing();
          if (missing) for (const w of ['play check', 'play run']) notAvailable('play', kase(w), missing);
          else {
            const state = join(work, 'state');
            const execs = execCounter(k);
            const counted = { before: async () => { await reset(); execs.mark(); } };
            const note = () => ({ note: execs.note() });
            wall['play-check'] = (await record('play', kase('play check'), [node, CLI, 'check', files.play, '-i', inv, '--forks', String(k), '--state-dir', state], o.runs, { timeoutMs: 300000, okCodes: [0, 2], ...counted }, note))?.wallMs;
            wall['play-run'] = (await record('play', kase('play run'), [node, CLI, 'run', files.play, '-i', inv, '--forks', String(k), '--state-dir', state], o.runs, { timeoutMs: 300000, ...counted }, note))?.wallMs;
            // The hosts as the first run left them: nothing to change (each run's own execs counted).
            const again = { before: async () => execs.mark() };
            wall['play-rerun'] = (await record('play', kase('play run, idempotent re-run'), [node, CLI, 'run', files.play, '-i', inv, '--forks', String(k), '--state-dir', state], o.runs, { timeoutMs: 300000, ...again }, note))?.wallMs;
          }
        }
        if (o.only.has('ansible')) {
          const a = ['ansible-playbook', '-i', inv, '-f', String(k), files.ansible];
          wall['ansible-check'] = (await record('ansible', kase('ansible-playbook --check'), [...a, '--check'], o.runs, { timeoutMs: 600000, env: ansibleEnv, before: reset }))?.wallMs;
          wall['ansible-run'] = (await record('ansible', kase('ansible-playbook'), a, o.runs, { timeoutMs: 600000, env: ansibleEnv, before: reset }))?.wallMs;
          // As the first run left the hosts: nothing to change (play's re-run above is the same work).
          wall['ansible-rerun'] = (await record('ansible', kase('ansible-playbook, idempotent re-run'), a, o.runs, { timeoutMs: 600000, env: ansibleEnv }))?.wallMs;
        }
        const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined ? a / b : undefined);
        const r = {
          'ansible/play check': ratio(wall['ansible-check'], wall['play-check']),
          'ansible/play run': ratio(wall['ansible-run'], wall['play-run']),
          'ansible/play re-run': ratio(wall['ansible-rerun'], wall['play-rerun']),
          'play re-run/floor ssh2': ratio(wall['play-rerun'], wall['floor-ssh2']),
          'play check/floor ssh2': ratio(wall['play-check'], wall['floor-ssh2']),
          'play check/floor controlmaster': ratio(wall['play-check'], wall['floor-controlmaster']),
        };
        rows.push({ section: 'ratios', case: kase('wall-time ratios'), note: Object.entries(r).map(([n, v]) => `${n} ${v === undefined ? '–' : v.toFixed(2)}`).join('; '), extra: r });
        if (k === 10 && m === 10) {
          targets.push({ goal: 'ansible-playbook --check / play check (K=10, M=10)', value: r['ansible/play check'], unit: '×', limit: 50, kind: 'min' });
          targets.push({ goal: 'ansible-playbook / play run, idempotent re-run (K=10, M=10)', value: r['ansible/play re-run'], unit: '×', limit: 50, kind: 'min' });
          targets.push({ goal: 'ansible-playbook / play run, first run (K=10, M=10)', value: r['ansible/play run'], unit: '×', limit: 15, kind: 'min' });
          targets.push({ goal: 'play check / raw ssh2 floor (K=10, M=10)', value: r['play check/floor ssh2'], unit: '×', limit: 1.5, kind: 'max' });
        }
      }
    }
    await resetHosts(lab, maxK, baseline);
  } finally {
    await labDown().catch(() => undefined);
  }
}

async function migration(o: Options, work: string): Promise<string> {
  const missing = playMissing();
  if (missing) return (notAvailable('migration', 'virsh_migrate on a libvirt lab', missing), '');
  try {
    return await migrationSection(o.migration, work, rows);
  } catch (e) {
    notAvailable('migration', `lab '${o.migration.lab}'`, (e as Error).message.split('\n')[0]);
    return '';
  }
}

async function main(): Promise<void> {
  const o = options();
  const started = new Date();
  const work = mkdtempSync(join(tmpdir(), 'play-bench-'));
  const tools = ensureTools({ ansible: o.only.has('ansible') || o.only.has('inventory') });
  const targets: Target[] = [];
  let migrationTable = '';
  try {
    if (o.only.has('inventory')) await inventorySection(o, work, targets);
    if (o.only.has('sim')) await simSection(o, work, targets);
    if (o.only.has('sim-rtt')) {
      await scaleSection(o, work, targets, { section: 'sim-rtt', hosts: o.rtt.hosts, latencyMs: o.rtt.latencyMs, forks: o.rtt.forks, basePort: o.simBasePort + 100, wallLimitS: 5 });
    }
    if (o.only.has('sim-10k')) {
      await scaleSection(o, work, targets, { section: 'sim-10k', hosts: o.big.hosts, latencyMs: o.simLatencyMs, forks: o.big.forks, basePort: o.simBasePort + 200, wallLimitS: 20, rssLimitMiB: 800 });
    }
    if (o.only.has('floor') || o.only.has('play') || o.only.has('ansible')) await labSection(o, work, targets);
    if (o.only.has('migration')) migrationTable = await migration(o, work);
    if (o.only.has('evacuation')) await evacuationSection(rows, o.runs);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const checked = targets.map(checkTarget);
  process.stdout.write(`\n## Results\n\n${markdownTable(rows)}\n\n## Targets\n\n${targetsTable(checked)}\n`);
  if (migrationTable) process.stdout.write(`\n## Live migration (virsh_migrate, medians of ${o.migration.runs})\n\n${migrationTable}\n`);
  const result = {
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memMiB: Math.round(totalmem() / 2 ** 20), node: process.version, kernel: release(), ansible: tools.ansibleVersion },
    options: { ...o, only: [...o.only] },
    installed: tools.installed,
    rows: rows.map((r) => ({ ...r })),
    targets: checked,
  };
  mkdirSync(rootPath('bench/results'), { recursive: true });
  writeFileSync(o.out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(`\nwrote ${o.out}\n`);
}

main().catch((e: Error) => {
  process.stderr.write(`bench: ${e.message}\n`);
  process.exitCode = 1;
});
