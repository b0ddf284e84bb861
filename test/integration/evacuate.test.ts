// playbooks/evacuate-host.yml on a 3-host libvirt lab with real guests and real live migrations:
// the plan in --check, a guest that fits nowhere, a paused guest, a drain under the keyed limits (read back from
// when each migration really ran), a second run as a no-op, return_vms, and a destination libvirtd
// killed during a migration. Guests are located with virsh on every host, behind the engine's back.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { RunRecord, TaskEvent } from '../../engine/results.js';
import { guestLocation, guestSerialLog, hostExec, hostExecOk, labDown, labGuest, labLink, labUp, parseSerialLog, setDirtyRate, type LabInfo } from '../../engine/lab/index.js';
import { daemonPid, upLibvirtHost } from '../../engine/lab/libvirt.js';
import { startHost, stopHost, testLabName, testOctet } from './lab-fixture.js';
import { play } from './play-cli.js';
import { peak, type Job } from './overlap.js';
import { toJsonReport } from '../../engine/report/json-report.js';

const PLAYBOOK = rootPath('playbooks', 'evacuate-host.yml');
const GUESTS = ['g1', 'g2', 'g3', 'g4'];
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Row {
  vm: string;
  from: string;
  to: string;
  result: string;
  location: string;
  started_at?: string;
  ended_at?: string;
}

describe('evacuate-host.yml on a 3-host libvirt lab', function () {
  this.timeout(300_000);
  const name = testLabName('evac');
  let lab: LabInfo;
  let dir: string;

  /** Every guest → the hosts it runs on (exactly one when all is well). */
  const where = async (): Promise<Record<string, string[]>> => Object.fromEntries(await Promise.all(GUESTS.map(async (g) => [g, await guestLocation(lab, g)] as const)));
  /** `virsh list --all` of every host: the domains' places and states. */
  const hostState = async (): Promise<string[]> => Promise.all(lab.hosts.map(async (h) => (await hostExec(lab, h, 'virsh -q list --all')).stdout));

  async function drain(limit: string, extraVars: Record<string, unknown> = {}, check = false): Promise<{ rec: RunRecord; events: TaskEvent[] }> {
    const events: TaskEvent[] = [];
    const rec = await runPlaybook({
      playbook: PLAYBOOK,
      inventories: [lab.inventoryPath],
      limit,
      check,
      diff: false,
      tags: [],
      skipTags: [],
      forks: 10,
      extraVars,
      detailedExitcodes: false,
      command: 'run',
      observer: { hostTaskDone: (e) => events.push(e) },
    });
    return { rec, events };
  }
  const reportRows = (events: TaskEvent[], host: string): Row[] => {
    const ev = events.find((e) => e.task === 'Evacuation report' && e.host === host);
    assert.ok(ev, `no evacuation report for ${host}`);
    return (ev.result.data as { vms: Row[] }).vms;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'play-evac-'));
    await labDown(name);
    lab = await labUp({ name, hosts: 3, octet: testOctet(34), libvirt: true });
    await Promise.all(GUESTS.map((g) => labGuest(lab, { name: g, on: 'hv1', memoryMib: 128, dirtyRateMib: 4, workingSetMib: 16 })));
  });
  after(async () => {
    // PLAY_TEST_KEEP_LAB=1 keeps the lab (and its libvirt/QEMU logs) to look at after a failure
    if (process.env.PLAY_TEST_KEEP_LAB !== '1') await labDown(name);
    rmSync(dir, { recursive: true, force: true });
  });

  it('--check prints the plan and changes nothing', async () => {
    const before = await hostState();
    const r = play(['run', PLAYBOOK, '-i', lab.inventoryPath, '--limit', 'hv1', '--check', '--state-dir', dir]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /evacuation of hv1: 4 guest\(s\) in [2-4] wave\(s\), expected [0-9.]+ s \(bandwidth 128 MiB\/s, dirty rates measured per guest\)/);
    for (const g of GUESTS) assert.match(r.out, new RegExp(`wave [1-4]  ${g}\\s+128 MiB  1 vCPU  hv1 → hv[23]  at [0-9.]+ s, ~[0-9.]+ s, dirty [0-9]+ MiB/s measured`));
    for (const g of GUESTS) assert.match(r.out, new RegExp(`${g}\\s+hv1 → hv[23]  would move, on hv1`));
    assert.deepEqual(await hostState(), before);
    assert.deepEqual(await where(), Object.fromEntries(GUESTS.map((g) => [g, ['hv1']])));
  });

  it('a hypervisor that is down is left out as a target, named in the plan (--check)', async () => {
    await stopHost(name, 3);
    try {
      const { rec, events } = await drain('hv1', {}, true);
      assert.equal(rec.exitCode, 0);
      const plan = events.find((e) => e.task === 'Plan the evacuation')!.result;
      assert.match(plan.msg!, /not a target: hv3 \(unreachable: /);
      assert.deepEqual((plan.data as { migrations: Array<{ to: string }> }).migrations.map((m) => m.to), GUESTS.map(() => 'hv2'));
    } finally {
      // startHost checks the machine's tools (ethtool, ping): another engineer's apt run can hide
      // them for a moment; hv3 must come back or every later case runs without it
      for (let i = 0; ; i++) {
        try {
          await startHost(name, 3);
          break;
        } catch (e) {
          if (i === 4) throw e;
          await delay(3000);
        }
      }
    }
    assert.deepEqual(await where(), Object.fromEntries(GUESTS.map((g) => [g, ['hv1']])));
  });

  it('a guest that fits nowhere stops the plan before any migration, naming it and its memory', async () => {
    const { rec, events } = await drain('hv1', { evacuation_reserve_mib: 100_000_000 });
    assert.equal(rec.exitCode, 4);
    const plan = events.find((e) => e.task === 'Plan the evacuation')!;
    assert.equal(plan.result.status, 'failed');
    for (const g of GUESTS) assert.match(plan.result.msg!, new RegExp(`${g} \\(128 MiB, 1 vCPU\\) fits nowhere: hv2 has 0 MiB free after the 100000000 MiB reserve`));
    assert.ok(!events.some((e) => e.task === 'Migrate the guests away'), 'a migration task ran');
    assert.deepEqual(reportRows(events, 'hv1').map((r) => r.result), GUESTS.map(() => 'fits nowhere'));
    assert.deepEqual(await where(), Object.fromEntries(GUESTS.map((g) => [g, ['hv1']])));
  });

  it('a paused guest stops the plan before any migration, naming it (the host would not be empty)', async () => {
    await hostExecOk(lab, 'hv1', 'virsh -c qemu:///system suspend g2');
    try {
      const { rec, events } = await drain('hv1');
      assert.equal(rec.exitCode, 4);
      const plan = events.find((e) => e.task === 'Plan the evacuation')!;
      assert.equal(plan.result.status, 'failed');
      assert.match(plan.result.msg!, /g2 \(128 MiB, 1 vCPU\) fits nowhere: it is paused, not running: only a running guest is live-migrated/);
      assert.doesNotMatch(plan.result.msg!, /g[134] \(/);
      assert.ok(!events.some((e) => e.task === 'Migrate the guests away'), 'a migration task ran');
      assert.match((await hostExec(lab, 'hv1', 'virsh -c qemu:///system domstate g2')).stdout, /paused/);
    } finally {
      await hostExecOk(lab, 'hv1', 'virsh -c qemu:///system resume g2');
    }
    assert.deepEqual(await where(), Object.fromEntries(GUESTS.map((g) => [g, ['hv1']])));
  });

  it('drains hv1: every guest runs once on hv2/hv3, placed by free memory, ≤2 out of hv1 and 1 into a target at once', async () => {
    const { rec, events } = await drain('hv1');
    assert.equal(rec.exitCode, 0, JSON.stringify(events.filter((e) => e.result.status === 'failed').map((e) => e.result.msg)));
    assert.ok(events.some((e) => e.task === 'Maintenance window' && e.host === 'hv1' && e.result.status === 'ok'), 'no maintenance after the drain');
    const now = await where();
    for (const g of GUESTS) assert.equal(now[g].length, 1, `${g} runs on ${now[g].join(', ') || 'no host'}`);
    const rows = reportRows(events, 'hv1');
    assert.deepEqual(rows.map((r) => r.vm).sort(), GUESTS);
    for (const r of rows) assert.deepEqual([r.result, now[r.vm]], ['moved', [r.to]]);
    // placement: biggest first (all equal: by name), each to the target with the most memory left
    const facts = events.find((e) => e.task === 'Read the guests and free memory of every hypervisor')!.result.data as { results: Array<{ item: string; free_memory_kib: number }> };
    const room: Record<string, number> = {};
    for (const f of facts.results) if (f.item !== 'hv1') room[f.item] = Math.round(f.free_memory_kib / 1024) - 256;
    for (const row of [...rows].sort((a, b) => a.vm.localeCompare(b.vm))) {
      const best = Object.keys(room).sort((a, b) => room[b] - room[a] || a.localeCompare(b))[0];
      assert.equal(row.to, best, `${row.vm} went to ${row.to}, ${best} had the most memory left (${JSON.stringify(room)})`);
      room[best] -= 128;
    }
    // when each migration really ran (recorded by the engine after its slots were granted)
    const jobs: Job[] = rows.map((r) => ({ task: 'migrate', host: r.to, item: r.vm, start: Date.parse(r.started_at!), end: Date.parse(r.ended_at!) }));
    assert.ok(peak(jobs) <= 2, `${peak(jobs)} migrations out of hv1 at once`);
    for (const t of ['hv2', 'hv3']) assert.ok(peak(jobs, (j) => j.host === t) <= 1, `2 migrations into ${t} at once`);
    // the JSON report carries the same account, one line per guest
    const json = toJsonReport(rec);
    const lines = json.hosts.find((h) => h.name === 'hv1')!.tasks.find((t) => t.task === 'Evacuation report')!.messages.join('\n');
    for (const r of rows) assert.match(lines, new RegExp(`${r.vm}\\s+hv1 → ${r.to}  moved, on ${r.to} \\([0-9.]+ s, downtime [0-9]+ ms, \\w+\\)`));
  });

  it('a second run on the emptied host is a no-op', async () => {
    const before = await hostState();
    const { rec, events } = await drain('hv1');
    assert.equal(rec.exitCode, 0);
    assert.equal(rec.hosts.hv1.stats.changed, 0);
    assert.match(events.find((e) => e.task === 'Plan the evacuation')!.result.msg!, /hv1 runs no guests: nothing to move/);
    // nothing was moved off it in this run: no maintenance (no second reboot)
    assert.ok(!events.some((e) => e.task === 'Maintenance window' && e.result.status !== 'skipped'), 'the maintenance ran again on an empty host');
    const forced = await drain('hv1', { force_maintenance: true });
    assert.ok(forced.events.some((e) => e.task === 'Maintenance window' && e.result.status === 'ok'), 'force_maintenance did not run the maintenance');
    assert.deepEqual(await hostState(), before);
  });

  it('return_vms: true brings the guests back where they started (terminal and JSON report)', async () => {
    const start = await where();
    const onHv2 = GUESTS.filter((g) => start[g][0] === 'hv2');
    assert.ok(onHv2.length > 0);
    const report = join(dir, 'return.json');
    const r = play(['run', PLAYBOOK, '-i', lab.inventoryPath, '--limit', 'hv2', '-e', 'return_vms=true', '--state-dir', dir, '--report', `json=${report}`]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(await where(), start);
    const json = JSON.parse(readFileSync(report, 'utf8')) as { hosts: Array<{ name: string; tasks: Array<{ task: string; messages: string[] }> }> };
    const lines = json.hosts.find((h) => h.name === 'hv2')!.tasks.find((t) => t.task === 'Evacuation report')!.messages.join('\n').split('\n');
    for (const g of onHv2) {
      const line = lines.find((l) => l.trimStart().startsWith(`${g} `));
      assert.match(line ?? '', new RegExp(`${g}\\s+hv2 → hv[13]  moved and returned, on hv2 \\([0-9.]+ s, downtime [0-9]+ ms`));
      assert.ok(r.out.includes(line!.trim()), `the terminal lacks '${line}'`);
    }
  });

  it("killing the destination's libvirtd mid-migration: the guest stays on its source, the roll stops, the report says who moved", async () => {
    const start = await where();
    const onHv2 = GUESTS.filter((g) => start[g][0] === 'hv2');
    const onHv3 = GUESTS.filter((g) => start[g][0] === 'hv3');
    assert.ok(onHv2.length >= 2, `need 2 guests on hv2, have ${JSON.stringify(start)}`);
    // Draining hv2 and hv3 in one run leaves hv1 the only target: one migration at a time into it.
    // A slow link makes each migration long enough to be caught in the middle.
    await labLink(lab, { rateMbit: 120 }); // ~12 s per guest here; 40 Mbit barely outruns the dirtier
    // The test is about the kill, not about convergence: at 4 MiB/s over a 16 MiB working set a
    // guest once failed to converge on this link within its 100 s completion timeout (CI, with the
    // lab's QEMU now tracking every dirtied page), so the two movers dirty 1 MiB/s here.
    for (const g of onHv2) await setDirtyRate(lab, 'hv2', g, 1);
    const hv1 = lab.hosts[0];
    try {
      const run = drain('hv2:hv3');
      let settled: string | undefined;
      void run.then(({ events }) => (settled = events.map((e) => `${e.host} ${e.task}: ${e.result.status} ${e.result.msg ?? ''}`).join('\n')));
      const waitFor = async (what: string, cond: () => Promise<boolean>) => {
        const deadline = Date.now() + 150_000;
        while (!(await cond())) {
          if (settled !== undefined) assert.fail(`the drain ended before ${what}:\n${settled}`);
          if (Date.now() > deadline) assert.fail(`${what}: not within 150 s`);
          await delay(100);
        }
      };
      // the first guest arrives on hv1, then the second one's migration starts: kill hv1's libvirtd
      const [first, second] = onHv2;
      const onHv1 = async (g: string) => (await guestLocation(lab, g)).includes('hv1');
      await waitFor('a guest reached hv1', async () => (await onHv1(first)) || (await onHv1(second)));
      const moving = (await onHv1(first)) ? second : first;
      await waitFor(`the migration of ${moving} started`, async () => /Job type:\s+Unbounded/.test((await hostExec(lab, 'hv2', `virsh domjobinfo ${moving}`)).stdout));
      await delay(500);
      process.kill(daemonPid(hv1, 'libvirtd')!, 'SIGKILL');
      const { rec, events } = await run;
      await upLibvirtHost(lab, hv1);
      assert.equal(rec.exitCode, 4);
      const rows = reportRows(events, 'hv2');
      const moved = onHv2.filter((g) => g !== moving);
      const shown = JSON.stringify(rows.map((r) => [r.vm, r.result, r.location]));
      assert.equal(rows.find((r) => r.vm === moving)!.result, 'failed', shown);
      for (const g of moved) assert.equal(rows.find((r) => r.vm === g)!.result, 'moved', shown);
      assert.deepEqual((await guestLocation(lab, moving)), ['hv2']);
      // the roll stopped: hv3 was never drained
      assert.ok(!events.some((e) => e.host === 'hv3'), 'hv3 was touched after hv2 failed');
      for (const g of onHv3) assert.deepEqual(await guestLocation(lab, g), ['hv3']);
    } finally {
      await labLink(lab, { rateMbit: null });
      if (!daemonPid(hv1, 'libvirtd')) await upLibvirtHost(lab, hv1);
    }
  });

  it('every guest lived through its migrations: one boot, still ticking', async () => {
    const before = await Promise.all(GUESTS.map(async (g) => parseSerialLog(await guestSerialLog(lab, g))));
    await delay(2500);
    for (const [i, g] of GUESTS.entries()) {
      const now = parseSerialLog(await guestSerialLog(lab, g));
      assert.equal(now.boots, 1, `${g} booted ${now.boots} times`);
      assert.ok(now.ticks.length > before[i].ticks.length, `${g} stopped ticking`);
    }
  });
});

