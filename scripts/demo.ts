// `npm run demo`: the main job end to end on the built-in lab, through the real `play` CLI:
// libvirt lab hosts up, cluster-tune.yml (twice: the second run changes nothing), a busy guest,
// migrate-vm.yml (--check, the migration with its latency record, then a second run that changes
// nothing). Idempotent: run again, it finds the lab tuned and the guest where the last demo left it,
// and migrates it back. PLAY_DEMO_LAB / PLAY_DEMO_OCTET pick another lab than 'lab' (octet 10).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { guestLocation, guestSerialLog, labStatus, parseSerialLog, type LabInfo } from '../engine/lab/index.js';
import { rootPath } from '../engine/paths.js';

const CLI = rootPath('dist', 'engine', 'cli.js');
const LAB = process.env.PLAY_DEMO_LAB || 'lab';
const OCTET = process.env.PLAY_DEMO_OCTET;
const GUEST = 'demo1';

class DemoError extends Error {}

const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (s: string) => `\x1b[1m${s}\x1b[0m` : (s: string) => s;

function step(title: string): void {
  process.stdout.write(`\n${bold(`== ${title}`)}\n`);
}

/** Runs `play ARGS` with its output on the terminal; throws unless the exit code is expected. */
function play(args: string[], okCodes: number[], what: string): number {
  process.stdout.write(`$ play ${args.join(' ')}\n`);
  const r = spawnSync(process.execPath, [CLI, ...args], { stdio: 'inherit' });
  const code = r.status ?? -1;
  if (!okCodes.includes(code)) throw new DemoError(`${what}: play exited ${code} (expected ${okCodes.join(' or ')})`);
  return code;
}

async function upLab(): Promise<LabInfo> {
  const args = ['lab', 'up', '--hosts', '3', '--libvirt', ...(LAB === 'lab' ? [] : ['--name', LAB]), ...(OCTET ? ['--octet', OCTET] : [])];
  play(args, [0], 'lab up');
  const s = await labStatus(LAB);
  if (!s.info) throw new DemoError(`lab ${LAB} is not up after \`play lab up\``);
  return s.info;
}

/** Starts the guest on hv1 unless it already runs (a previous demo); returns where it runs. */
async function ensureGuest(lab: LabInfo): Promise<string> {
  const where = await guestLocation(lab, GUEST);
  if (where.length > 1) throw new DemoError(`guest ${GUEST} runs on ${where.join(' and ')}: a lab guest must run exactly once`);
  if (where.length === 1) {
    process.stdout.write(`guest ${GUEST} already runs on ${where[0]} (left there by a previous demo)\n`);
    return where[0];
  }
  play(['lab', 'guest', GUEST, '--on', 'hv1', '--memory', '512', '--working-set', '64', '--dirty-rate', '16', ...(LAB === 'lab' ? [] : ['--name', LAB])], [0], 'lab guest');
  return 'hv1';
}

interface TaskJson {
  task: string;
  status?: string;
  metrics?: Record<string, number | string>;
}

function latencyRecord(reportFile: string, source: string): Record<string, number | string> {
  const report = JSON.parse(readFileSync(reportFile, 'utf8')) as { hosts: Array<{ name: string; tasks: TaskJson[] }> };
  const t = report.hosts.find((h) => h.name === source)?.tasks.find((x) => x.task === 'Migrate the VM');
  if (!t?.metrics) throw new DemoError(`no migration-latency record for ${source} in ${reportFile}`);
  return t.metrics;
}

function printRecord(m: Record<string, number | string>): void {
  const rows: Array<[string, string]> = [
    ['total time', `${m.total_s} s (migration job ${m.job_s} s, setup ${m.setup_ms ?? '?'} ms)`],
    ['downtime', `${m.downtime_ms === undefined ? 'not reported by QEMU' : `${m.downtime_ms} ms`} (limit at the end ${m.downtime_limit_ms} ms)`],
    ['data transferred', `${m.data_mib} MiB`],
    ['throughput', `${m.avg_mibps} MiB/s average, ${m.peak_mibps} MiB/s peak`],
    ['guest dirty rate', `${m.dirty_rate_mibps} MiB/s`],
    ['iterations', String(m.iterations)],
    ['policy / finished by', `${m.policy} / ${m.strategy}`],
    ['policy steps', String(m.steps)],
  ];
  for (const [k, v] of rows) process.stdout.write(`  ${k.padEnd(22)} ${v}\n`);
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'play-demo-'));
  try {
    step(`1. Three libvirt hypervisors on the built-in lab '${LAB}' (network namespaces, real sshd, libvirtd + QEMU each)`);
    const lab = await upLab();
    const inv = ['-i', lab.inventoryPath];

    step('2. Tune them for live migration (cluster-tune.yml): offloads, MTU 9000, TCP buffers, migration TLS forced, firewall');
    play(['run', 'cluster-tune.yml', ...inv], [0], 'cluster-tune.yml');
    step('3. Tune again: in sync, nothing changes (exit 0 with --detailed-exitcodes)');
    play(['run', 'cluster-tune.yml', ...inv, '--detailed-exitcodes'], [0], 'second cluster-tune.yml run changed something');

    step(`4. A busy guest: ${GUEST}, 512 MiB, dirtying a 64 MiB working set at 16 MiB/s`);
    const from = await ensureGuest(lab);
    const to = from === 'hv2' ? 'hv1' : 'hv2';
    const bootsBefore = parseSerialLog(await guestSerialLog(lab, GUEST)).boots;
    // cluster-tune.yml forced migration TLS (migrate_tls_force): migrate_tls auto (the default) uses it.
    const mig = ['run', 'migrate-vm.yml', ...inv, '-e', `vm=${GUEST}`, '-e', `to=${to}`];

    step(`5. What a migration ${from} → ${to} would do (--check: every preflight check, nothing touched)`);
    play([...mig, '--check'], [0], 'migrate-vm.yml --check');

    step(`6. Live-migrate ${GUEST} ${from} → ${to} over the migration network (TLS, watched, steered)`);
    const report = join(work, 'migrate.json');
    play([...mig, '--report', `json=${report}`], [0], 'migrate-vm.yml');
    const where = await guestLocation(lab, GUEST);
    const log = parseSerialLog(await guestSerialLog(lab, GUEST));
    if (where.length !== 1 || where[0] !== to) throw new DemoError(`after the migration ${GUEST} runs on [${where.join(', ')}], not on ${to}`);
    process.stdout.write(`\nMigration-latency record (also in the JSON report and the Prometheus textfile):\n`);
    printRecord(latencyRecord(report, from));
    process.stdout.write(`  ${'guest'.padEnd(22)} runs on ${to} only; ${log.boots === bootsBefore ? 'never rebooted' : `booted ${log.boots - bootsBefore} more time(s)!`} (${log.boots} boot(s) in its serial log, ${log.gaps} gaps in its ticks)\n`);

    step('7. Migrate again: the guest already runs on the destination, nothing changes (exit 0 with --detailed-exitcodes)');
    play([...mig, '--detailed-exitcodes'], [0], 'second migrate-vm.yml run changed something');

    process.stdout.write(`\nDone. Run \`npm run demo\` again to migrate ${GUEST} back; \`play lab down${LAB === 'lab' ? '' : ` --name ${LAB}`}\` removes the lab.\n`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((e: Error) => {
  process.stderr.write(`demo: ${e instanceof DemoError ? e.message : e.stack}\n`);
  process.exitCode = 1;
});
