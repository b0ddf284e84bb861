// Keyed concurrency limits (limits:, throttle:, loop_control.parallel/break_when) on five real
// hosts of this machine (connection: local): each job records its own start and end time from
// the host's clock, and the overlaps read back from that log must stay under every cap.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { RunRecord } from '../../engine/results.js';
import { peak, type Job } from './overlap.js';
import { startLab, stopLab, testLabName, testOctet, type LabInfo } from './lab-fixture.js';

const FIX = rootPath('test', 'fixtures', 'runner');

function jobsOf(log: string): Job[] {
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [task, host, item, start, end] = l.split(' ');
      return { task, host, item, start: Number(start) / 1e6, end: Number(end) / 1e6 };
    });
}

/** Runs limits.yml on `hosts` of `inventory` and checks every cap from the recorded times. */
function limitsSuite(title: string, inventory: () => string, hosts: string[], octet?: number): void {
  describe(title, function () {
    this.timeout(120_000);
    let dir: string;
    let jobs: Job[];
    let exitCode: number;
    let record: RunRecord;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'play-limits-'));
      const log = join(dir, 'log');
      const rec = await runPlaybook({
        playbook: join(FIX, 'limits.yml'),
        inventories: [inventory()],
        check: false,
        diff: false,
        tags: [],
        skipTags: [],
        forks: 10,
        extraVars: { log, per_target: 2, first_host: hosts[0] },
        detailedExitcodes: false,
        command: 'run',
        observer: {},
      });
      exitCode = rec.exitCode;
      record = rec;
      jobs = jobsOf(log);
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('runs every item, at most 2 per source host, 2 per target item and 5 in all at once', () => {
      const keyed = jobs.filter((j) => j.task === 'keyed');
      assert.equal(keyed.length, 4 * hosts.length);
      for (const h of hosts) assert.ok(peak(keyed, (j) => j.host === h) <= 2, `${h} ran more than 2 items at once`);
      for (const i of ['a', 'b', 'c', 'd']) assert.ok(peak(keyed, (j) => j.item === i) <= 2, `item ${i} ran on more than 2 hosts at once`);
      const all = peak(keyed);
      assert.ok(all <= 5, `the cluster key allowed ${all} at once`);
      // items really ran side by side (2 per host at least once), not one after another
      assert.ok(all >= 3, `only ${all} at once: the loop did not run in parallel`);
      assert.ok(hosts.some((h) => peak(keyed, (j) => j.host === h) === 2));
    });

    it('throttle: 2 caps a task over all hosts', () => {
      const t = jobs.filter((j) => j.task === 'throttled');
      assert.equal(t.length, hosts.length);
      assert.equal(peak(t), 2);
    });

    it('break_when: no item starts after the one that failed', () => {
      const b = jobs.filter((j) => j.task === 'broken');
      assert.deepEqual(b.map((j) => `${j.host} ${j.item}`), [`${hosts[0]} 1`, `${hosts[0]} 2`]);
      assert.equal(exitCode, 0); // ignore_errors
    });

    it('break_when: items already waiting for their keyed slot do not start either', () => {
      const q = jobs.filter((j) => j.task === 'queued');
      assert.deepEqual(q.map((j) => `${j.host} ${j.item}`), [`${hosts[0]} 1`]);
      // the four others are reported not started, as the evacuation report expects
      const ev = record.hosts[hosts[0]].tasks.find((t) => t.task === 'stop items already waiting for their slot');
      const results = (ev?.result.data?.results ?? []) as Array<{ msg?: string }>;
      assert.deepEqual(results.slice(1).map((r) => r.msg), Array(4).fill('not started: loop_control.break_when ended the loop'));
    });

    it('one key named by two tasks is shared: never two holders at once', () => {
      const s = jobs.filter((j) => j.task === 'shared');
      assert.equal(s.length, 2 * hosts.length);
      assert.equal(peak(s), 1);
    });
  });
}

limitsSuite('keyed concurrency limits on local hosts', () => join(FIX, 'inventory.yml'), ['h1', 'h2', 'h3', 'h4', 'h5']);

describe('keyed concurrency limits on plain lab hosts (SSH)', function () {
  this.timeout(180_000);
  const name = testLabName('limits');
  let lab: LabInfo | undefined;
  before(async () => {
    lab = await startLab({ name, hosts: 3, octet: testOctet(37) });
  });
  after(async () => {
    await stopLab(name);
  });
  limitsSuite('over real SSH', () => lab!.inventoryPath, ['hv1', 'hv2', 'hv3']);
});
