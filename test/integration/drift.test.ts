// The drift check end to end (lab 'drift', 3 hosts): `play run`/`play check` through the real CLI
// over real SSH, drift made behind the engine's back, every report read by a real consumer, and
// proof from outside the engine that no check changes a host.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { defaultStateDir } from '../../engine/report/index.js';
import { play } from './play-cli.js';
import { testLabName, testOctet, commandsLog, startHost, startLab, stopHost, stopLab, type LabInfo } from './lab-fixture.js';
import { labState, nsRun, writesIn } from './drift-host-state.js';
import { perHost, readReports, tasksNotInSync, type ReadReports, type ReportPaths } from './drift-reports.js';

const LAB = testLabName('drift');
const HOSTS = ['hv1', 'hv2', 'hv3'];
const PLAYBOOK = rootPath('playbooks', 'cluster-tune.yml');
const PLAY = 'Tune hypervisors for live migration';
const TCP_TASK = 'TCP buffers sized for a fast migration stream';
const MTU_TASK = 'Jumbo frames on the migration network';
const PATH_TASK = 'Path MTU verified to every other hypervisor';
const NIC_TASK = 'NIC offloads on the migration interface (GRO/GSO/TSO on)';
// Tasks in sync (ok, or skipped by `when` in the lab) on every host of the drift scenario: a
// drift check must not print them.
const QUIET_TASKS = [
  'Gathering Facts',
  NIC_TASK,
  'NIC ring buffers (bigger rings absorb migration bursts)',
  'Socket buffer ceilings (host-wide net.core keys)',
  'Migration TLS forced and verified in qemu.conf',
  'Migration ports open only to the migration and management networks',
];

// tcp_rmem is a minimum in cluster-tune.yml: drift is a value below it in every field but the first.
const DRIFTED_RMEM = '4096 65536 6291456';
const WANTED_RMEM = '4096 87380 16777216';
const HV1_RMEM = `runtime net.ipv4.tcp_rmem: '${DRIFTED_RMEM}' → '${WANTED_RMEM}' (at least '${WANTED_RMEM}')`;
const HV2_MTU = 'eth1 mtu: 9100 → 9000 (disruptive)';
const DRIFT_LINE = `2/3 hosts drifted: hv1 ${HV1_RMEM}, hv2 eth1 mtu 9100 → 9000`;

interface Checked extends ReadReports {
  code: number;
  out: string;
  lines: string[];
}

describe('drift checks on the lab (drift)', function () {
  this.timeout(120_000);
  let lab: LabInfo;
  let tmp: string;
  let stateDir: string;

  before(async () => {
    lab = await startLab({ name: LAB, hosts: 3, octet: testOctet(25) });
    tmp = mkdtempSync(join(tmpdir(), 'play-drift-'));
    stateDir = join(tmp, 'state');
  });
  after(async () => {
    await stopLab(LAB);
    rmSync(tmp, { recursive: true, force: true });
  });

  const logPositions = () => HOSTS.map((h) => commandsLog(LAB, h).length);
  const newCommands = (at: number[]) => HOSTS.map((h, i) => commandsLog(LAB, h).slice(at[i]));

  /**
   * Every `play check` of this file goes through here: the hosts' state is taken before and after
   * and must be identical, sshd's commands log must show reads and no write, and every report must
   * pass its consumer.
   */
  async function check(label: string, extra: string[] = [], inventory = lab.inventoryPath): Promise<Checked> {
    const reports: ReportPaths = { json: join(tmp, `${label}.json`), junit: join(tmp, `${label}.xml`), prometheus: join(tmp, `${label}.prom`) };
    const before = await labState(lab.hosts);
    const at = logPositions();
    const reportArgs = Object.entries(reports).flatMap(([format, path]) => ['--report', `${format}=${path}`]);
    const r = play(['check', 'cluster-tune.yml', '-i', inventory, '--state-dir', stateDir, ...reportArgs, ...extra]);
    assert.equal(r.err, '', `check ${label} wrote to stderr`);
    assert.deepEqual(await labState(lab.hosts), before, `play check (${label}) changed a host`);
    const read = readReports(reports);
    newCommands(at).forEach((cmds, i) => {
      const unreachable = read.json.hosts[i].unreachable !== undefined;
      assert.equal(cmds.length > 0, !unreachable, `${HOSTS[i]}: commands seen by its sshd: ${cmds.length}`);
      assert.deepEqual(writesIn(cmds), [], `play check (${label}) sent a write command to ${HOSTS[i]}`);
    });
    assert.equal(read.json.exitCode, r.code);
    // The header's first line names the inventory (cli.ts inventoryLine); the drift output follows.
    const lines = r.out.split('\n');
    assert.match(lines[0], /^inventory: /);
    return { ...read, code: r.code, out: r.out, lines: lines.slice(1) };
  }

  /** What the drift renderer printed about hosts: everything between the header and the summary. */
  const hostLines = (c: Checked) => c.lines.slice(1, c.lines.indexOf(c.json.summary.line)).filter((l) => l !== '');

  function assertQuiet(c: Checked) {
    for (const t of QUIET_TASKS) assert.ok(!c.lines.some((l) => l.trim().startsWith(t)), `in-sync task printed: ${t}\n${c.out}`);
  }

  it('play run tunes the fresh lab, then play check exits 0 and prints no host', async () => {
    const before = await labState(lab.hosts);
    const at = logPositions();
    const run = play(['run', 'cluster-tune.yml', '-i', lab.inventoryPath, '--state-dir', stateDir]);
    assert.equal(run.code, 0, run.out + run.err);
    // The two detectors the checks rely on do see a real run's writes: they can fail.
    assert.notDeepEqual(await labState(lab.hosts), before, 'the snapshot sees what a run changes');
    for (const [i, cmds] of newCommands(at).entries()) {
      const kinds = new Set(writesIn(cmds).map((w) => w.name));
      for (const k of ['sysctl -w', 'ip link set', 'ethtool -K/-G/-L', 'nft write', 'file write (Host.writeFile)']) assert.ok(kinds.has(k), `${HOSTS[i]}: no '${k}' found in ${[...kinds]}`);
    }

    // A relative inventory path, as an operator types it: the reports still name the resolved file.
    const c = await check('in-sync', [], relative(process.cwd(), lab.inventoryPath));
    assert.equal(c.code, 0, c.out);
    assert.equal(c.lines[0], `CHECK [${PLAY}] 3 hosts (read only)`);
    assert.deepEqual(hostLines(c), [], 'nothing to say about hosts in sync');
    assert.ok(c.lines.includes('0/3 hosts drifted'), c.out);
    assert.deepEqual(c.json.inventory, [lab.inventoryPath]);
    assert.deepEqual(c.json.hosts.map((h) => h.verdict), ['in-sync', 'in-sync', 'in-sync']);
    assert.deepEqual(perHost(c.prometheus, 'play_host_in_sync', HOSTS, PLAYBOOK), [1, 1, 1]);
    assert.deepEqual(tasksNotInSync(c.prometheus), []);
    assert.deepEqual(c.junit.map((s) => [s.name, s.failures, s.errors, s.skipped]), HOSTS.map((h) => [h, 0, 0, 0]));
  });

  it('drift made behind the engine’s back: exit 2, exactly those two differences on exactly those hosts, everywhere', async () => {
    await nsRun(lab.hosts[0].ns, `sysctl -w net.ipv4.tcp_rmem='${DRIFTED_RMEM}'`);
    // hv2's eth1 goes ABOVE 9000, not down to 1500: a peer's path check sends 8972-byte pings,
    // which a 1500 MTU on hv2 would (rightly) fail — then hv1 and hv3 report errors, hv1 stops
    // before its sysctl task, and the run is 6, not 2. 9100 is drift of hv2 alone.
    await nsRun(lab.hosts[1].ns, 'ip link set dev eth1 mtu 9100');
    const c = await check('drift', ['--since-last']);
    assert.equal(c.code, 2, c.out);

    // Human output: per host only what drifted, grouped by task, then the summary.
    assert.deepEqual(hostLines(c).slice(0, 6), ['hv1: drift', `  ${TCP_TASK}`, `    ${HV1_RMEM}`, 'hv2: drift', `  ${MTU_TASK}`, `    ${HV2_MTU}`]);
    // hv2's path check cannot verify at 9100: not drift, not printed; reports call it unknown.
    assert.deepEqual(hostLines(c).slice(6), []);
    assert.ok(!c.lines.some((l) => l.startsWith('hv3')), 'hv3 is in sync: not printed');
    assertQuiet(c);
    assert.ok(c.lines.includes(DRIFT_LINE), c.out);
    // --since-last: the previous check (in sync) against this one.
    const since = c.lines.findIndex((l) => l.startsWith('drift since '));
    assert.match(c.lines[since], /^drift since \S+: 2 new, 0 resolved, 0 still drifted, 0 unknown$/);
    assert.deepEqual(c.lines.slice(since + 1, since + 3), [
      `  + hv1 ${HV1_RMEM}  [${TCP_TASK}]`,
      `  + hv2 eth1 mtu 9100 → 9000  [${MTU_TASK}]`,
    ]);

    // JSON: exactly two drifted tasks, with exactly these changes; hv2's path check, which
    // cannot verify while eth1 is not at 9000, is unknown with its reason (never in sync).
    const notInSync = c.json.hosts.flatMap((h) => h.tasks.filter((t) => t.verdict !== 'in-sync').map((t) => [h.name, t.task, t.verdict, t.changes]));
    assert.deepEqual(notInSync, [
      ['hv1', TCP_TASK, 'drift', [{ path: 'runtime net.ipv4.tcp_rmem', from: DRIFTED_RMEM, to: WANTED_RMEM, message: HV1_RMEM.replace('runtime net.ipv4.tcp_rmem: ', '') }]],
      ['hv2', MTU_TASK, 'drift', [{ path: 'eth1 mtu', from: 9100, to: 9000, disruptive: true }]],
      ['hv2', PATH_TASK, 'unknown', []],
    ]);
    const pathTask = c.json.hosts[1].tasks.find((t) => t.task === PATH_TASK)!;
    assert.match(String(pathTask.reason), /path MTU check skipped: eth1 is at 9100, not 9000/);
    assert.deepEqual(c.json.hosts.map((h) => h.verdict), ['drift', 'drift', 'in-sync']);
    assert.deepEqual({ drifted: c.json.summary.drifted, changes: c.json.summary.changes, line: c.json.summary.line }, { drifted: 2, changes: 2, line: DRIFT_LINE });

    // JUnit, as junitparser reads it: one failure per drifted task, its differences as the text.
    const failures = c.junit.flatMap((s) => s.cases.filter((k) => k.results.length > 0 && !['SystemErr', 'Skipped'].includes(k.results[0].kind)).map((k) => [s.name, k.name, k.results.map((x) => [x.kind, x.type, x.text])]));
    assert.deepEqual(failures, [
      ['hv1', `${PLAY}: ${TCP_TASK}`, [['Failure', 'drift', HV1_RMEM]]],
      ['hv2', `${PLAY}: ${MTU_TASK}`, [['Failure', 'drift', HV2_MTU]]],
    ]);
    // hv2's unverifiable path check is the one skipped case (with its reason).
    assert.deepEqual(c.junit.map((s) => [s.name, s.failures, s.errors, s.skipped]), [['hv1', 1, 0, 0], ['hv2', 1, 0, 1], ['hv3', 0, 0, 0]]);

    // Prometheus, as promtool accepted it.
    assert.deepEqual(perHost(c.prometheus, 'play_drift_changes', HOSTS, PLAYBOOK), [1, 1, 0]);
    assert.deepEqual(perHost(c.prometheus, 'play_host_in_sync', HOSTS, PLAYBOOK), [0, 0, 1]);
    assert.deepEqual(tasksNotInSync(c.prometheus), [['hv1', TCP_TASK], ['hv2', MTU_TASK], ['hv2', PATH_TASK]]);
    assert.equal(c.prometheus.get(`play_last_exit_code{playbook="${PLAYBOOK}"}`), 2);
  });

  it('an unreachable host is unknown in every report: exit 6 with drift, 4 without', async () => {
    await stopHost(LAB, 3);
    try {
      const c6 = await check('unreachable-drift');
      assert.equal(c6.code, 6, c6.out);
      assertUnreachableHv3(c6);
      assertQuiet(c6);
      assert.ok(c6.lines.includes(`${DRIFT_LINE}; 1 unreachable`), c6.out);
      assert.deepEqual(tasksNotInSync(c6.prometheus).filter(([h]) => h !== 'hv3'), [['hv1', TCP_TASK], ['hv2', MTU_TASK], ['hv2', PATH_TASK]]);

      // Repair hv1 and hv2 with a run: its writes are what the checks are asserted not to send.
      const at = logPositions();
      const fix = play(['run', 'cluster-tune.yml', '-i', lab.inventoryPath, '--limit', 'hv1:hv2', '--state-dir', stateDir]);
      assert.equal(fix.code, 0, fix.out + fix.err);
      const [w1, w2, w3] = newCommands(at).map(writesIn);
      assert.deepEqual(w1.map((w) => w.name), ['sysctl -w']);
      assert.match(w1[0].command, /sysctl -q -w 'net\.ipv4\.tcp_rmem=4096 87380 16777216'/);
      assert.deepEqual(w2.map((w) => w.name), ['ip link set']);
      assert.match(w2[0].command, /ip link set dev eth1 mtu 9000/);
      assert.deepEqual(w3, []);

      const c4 = await check('unreachable');
      assert.equal(c4.code, 4, c4.out);
      assertUnreachableHv3(c4);
      assertQuiet(c4);
      assert.deepEqual(hostLines(c4), [`hv3: unreachable — hv3: connection refused by ${lab.hosts[2].address}:22 (no sshd listening?)`]);
      assert.ok(c4.lines.includes('0/3 hosts drifted; 1 unreachable'), c4.out);
      assert.deepEqual(c4.json.hosts.map((h) => h.verdict), ['in-sync', 'in-sync', 'unknown']);
      assert.deepEqual(tasksNotInSync(c4.prometheus).filter(([h]) => h !== 'hv3'), []);

      const diff = play(['drift', 'diff', 'cluster-tune.yml', '-i', lab.inventoryPath, '--state-dir', stateDir]);
      assert.equal(diff.code, 0, 'only resolved drift, none new: exit 0: ' + diff.out + diff.err);
      const lines = diff.out.trimEnd().split('\n');
      assert.match(lines[1], /^drift since \S+: 0 new, 2 resolved, 0 still drifted, 0 unknown$/);
      assert.deepEqual(lines.slice(2), [
        `  - hv1 ${HV1_RMEM}  [${TCP_TASK}]`,
        `  - hv2 eth1 mtu 9100 → 9000  [${MTU_TASK}]`,
      ]);
    } finally {
      await startHost(LAB, 3);
    }
  });

  function assertUnreachableHv3(c: Checked) {
    const why = `hv3: connection refused by ${lab.hosts[2].address}:22 (no sshd listening?)`;
    assert.ok(c.lines.includes(`hv3: unreachable — ${why}`), c.out);
    const hv3 = c.json.hosts[2];
    assert.deepEqual([hv3.name, hv3.verdict, hv3.unreachable], ['hv3', 'unknown', why]);
    assert.ok(hv3.tasks.length >= 7 && hv3.tasks.every((t) => t.verdict === 'unknown' && t.changes.length === 0), JSON.stringify(hv3.tasks));
    assert.equal(c.json.summary.unreachable, 1);
    const suite = c.junit[2];
    assert.deepEqual([suite.name, suite.failures, suite.errors, suite.skipped], ['hv3', 0, 1, hv3.tasks.length - 1]);
    assert.deepEqual(suite.cases[0].results.map((r) => [r.kind, r.type, r.text]), [['Error', 'unreachable', why]]);
    assert.ok(suite.cases.slice(1).every((k) => k.results[0].kind === 'Skipped' && k.results[0].message === `not run: host unreachable: ${why}`));
    assert.equal(perHost(c.prometheus, 'play_host_unreachable', HOSTS, PLAYBOOK)[2], 1);
    assert.equal(perHost(c.prometheus, 'play_host_in_sync', HOSTS, PLAYBOOK)[2], 0);
    assert.equal(perHost(c.prometheus, 'play_host_unknown_tasks', HOSTS, PLAYBOOK)[2], hv3.tasks.length);
    assert.equal(tasksNotInSync(c.prometheus).filter(([h]) => h === 'hv3').length, hv3.tasks.length);
  }

  it('play drift diff and --since-last: new, resolved and still-drifted differences between checks', async () => {
    const hv3Wmem = "runtime net.ipv4.tcp_wmem: '4096 16384 4194304' → '4096 65536 16777216' (at least '4096 65536 16777216')";
    await nsRun(lab.hosts[2].ns, "sysctl -w net.ipv4.tcp_wmem='4096 16384 4194304'");
    const e = await check('new-hv3', ['--since-last']);
    assert.equal(e.code, 2, e.out);
    const since = e.lines.findIndex((l) => l.startsWith('drift since '));
    assert.match(e.lines[since], /: 1 new, 0 resolved, 0 still drifted, 0 unknown$/);
    assert.equal(e.lines[since + 1], `  + hv3 ${hv3Wmem}  [${TCP_TASK}]`);

    // hv3 put right, hv1 loses GRO, hv2's MTU drifts again: one of each kind.
    await nsRun(lab.hosts[2].ns, "sysctl -w net.ipv4.tcp_wmem='4096 65536 16777216'");
    await nsRun(lab.hosts[0].ns, 'ethtool -K eth1 gro off');
    const f = await check('new-hv1', ['--since-last']);
    assert.equal(f.code, 2, f.out);
    await nsRun(lab.hosts[1].ns, 'ip link set dev eth1 mtu 9100');
    const g = await check('new-hv2');
    assert.equal(g.code, 2, g.out);
    const diff = play(['drift', 'diff', 'cluster-tune.yml', '-i', lab.inventoryPath, '--state-dir', stateDir]);
    assert.equal(diff.code, 2, 'new drift exits 2: ' + diff.out + diff.err);
    assert.deepEqual(diff.out.trimEnd().split('\n').slice(1), [
      `drift since ${f.json.startedAt}: 1 new, 0 resolved, 1 still drifted, 0 unknown`,
      `  + hv2 eth1 mtu 9100 → 9000  [${MTU_TASK}]`,
      `  = hv1 eth1 feature generic-receive-offload off → on  [${NIC_TASK}]`,
    ]);
    assert.deepEqual(diff.out.split('\n')[0], `latest check: ${g.json.startedAt}`);
    const fSince = f.lines.findIndex((l) => l.startsWith('drift since '));
    assert.deepEqual(f.lines.slice(fSince, fSince + 3), [
      `drift since ${e.json.startedAt}: 1 new, 1 resolved, 0 still drifted, 0 unknown`,
      `  + hv1 eth1 feature generic-receive-offload off → on  [${NIC_TASK}]`,
      `  - hv3 ${hv3Wmem}  [${TCP_TASK}]`,
    ]);

    // A state directory of its own has no history: a clear error, not an empty diff.
    const empty = play(['drift', 'diff', 'cluster-tune.yml', '-i', lab.inventoryPath, '--state-dir', join(tmp, 'empty-state')]);
    assert.equal(empty.code, 1);
    assert.match(empty.err, /^error: drift diff needs two recorded checks of .*cluster-tune\.yml with this inventory; found 0 \(run 'play check' twice\)\n$/);
  });

  it('play schedule prints a service, a timer and a cron line that run play check under flock', async () => {
    const prom = '/var/lib/node_exporter/textfile_collector/play.prom';
    const s = play(['schedule', 'cluster-tune.yml', '-i', lab.inventoryPath, '--every', '15m', '--report', `prometheus=${prom}`]);
    assert.equal(s.code, 0, s.err);
    const units = splitSchedule(s.out);
    const execStart = /^ExecStart=(.*)$/m.exec(units.service.text)![1];
    const lock = /^\/usr\/bin\/flock -n -E 75 (\/run\/lock\/play-check-\S+\.lock) /.exec(execStart)?.[1];
    assert.ok(lock, execStart);
    const cli = rootPath('dist', 'engine', 'cli.js');
    assert.equal(execStart, `/usr/bin/flock -n -E 75 ${lock} ${process.execPath} ${cli} check ${PLAYBOOK} -i ${lab.inventoryPath} --report prometheus=${prom} --state-dir ${defaultStateDir()}`);
    assert.match(units.service.text, /^Type=oneshot$/m);
    assert.match(units.service.text, /^SuccessExitStatus=2 75$/m);
    assert.match(units.timer.text, /^OnCalendar=\*-\*-\* \*:00\/15:00$/m);
    assert.match(units.timer.text, new RegExp(`^Unit=${units.service.name.replace(/\./g, '\\.')}$`, 'm'));
    assert.match(units.cron, new RegExp(`^\\*/15 \\* \\* \\* \\* root cd ${rootPath()} && ${execStart.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    const dir = join(tmp, 'units');
    mkdirSync(dir, { recursive: true });
    for (const u of [units.service, units.timer]) writeFileSync(join(dir, u.name), u.text);
    if (spawnSync('systemd-analyze', ['--version']).status === 0) {
      const v = spawnSync('systemd-analyze', ['verify', '--man=no', join(dir, units.timer.name), join(dir, units.service.name)], { encoding: 'utf8' });
      assert.equal(v.status, 0, v.stderr);
    }
  });

  it('the scheduled command really checks the lab, and a second one waits its turn (exit 75)', async () => {
    const reports: ReportPaths = { json: join(tmp, 'cron', 'play.json'), junit: join(tmp, 'cron', 'play.xml'), prometheus: join(tmp, 'cron', 'textfile', 'play.prom') };
    const reportArgs = Object.entries(reports).flatMap(([format, path]) => ['--report', `${format}=${path}`]);
    const s = play(['schedule', 'cluster-tune.yml', '-i', lab.inventoryPath, '--every', '15m', ...reportArgs, '--state-dir', stateDir]);
    assert.equal(s.code, 0, s.err);
    // The cron line: five time fields, the user, then the command for sh.
    const cronCommand = splitSchedule(s.out).cron.split('\n').find((l) => !l.startsWith('#') && l !== '')!.split(' ').slice(6).join(' ');
    const lock = /flock -n -E 75 (\S+)/.exec(cronCommand)![1];
    const env = { ...process.env, NO_COLOR: '1', CI: 'true' };
    try {
      const r = spawnSync('/bin/sh', ['-c', cronCommand], { encoding: 'utf8', env });
      assert.equal(r.status, 2, r.stdout + r.stderr); // hv1's GRO and hv2's MTU are still drifted
      const read = readReports(reports);
      assert.deepEqual(tasksNotInSync(read.prometheus), [['hv1', NIC_TASK], ['hv2', MTU_TASK], ['hv2', PATH_TASK]]);

      // -F: flock itself holds the lock and is the only process to stop.
      const holder = spawn('/usr/bin/flock', ['-F', lock, 'sleep', '30'], { stdio: 'ignore' });
      try {
        await waitFor(() => spawnSync('/usr/bin/flock', ['-n', lock, 'true']).status !== 0);
        const busy = spawnSync('/bin/sh', ['-c', cronCommand], { encoding: 'utf8', env });
        assert.equal(busy.status, 75, busy.stdout + busy.stderr);
      } finally {
        holder.kill();
      }
    } finally {
      rmSync(lock, { force: true });
    }
  });
});

interface Unit {
  name: string;
  text: string;
}

/** `play schedule` prints `# NAME.service`, the unit, `# NAME.timer`, the unit, then the cron part. */
function splitSchedule(out: string): { service: Unit; timer: Unit; cron: string } {
  const m = /^# (\S+\.service)\n([\s\S]*?)\n# (\S+\.timer)\n([\s\S]*?)\n# or, without systemd, this cron line:\n([\s\S]*)$/.exec(out);
  assert.ok(m, out);
  return { service: { name: m[1], text: m[2] }, timer: { name: m[3], text: m[4] }, cron: m[5] };
}

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}
