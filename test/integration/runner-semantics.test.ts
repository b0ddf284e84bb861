// The runner's Ansible semantics on five real hosts of this machine (connection: local):
// serial batches, blocks, loops, register, handlers, run_once, delegate_to, retries, tags,
// max_fail_percentage, any_errors_fatal and the free strategy — read back from what really ran.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { RunRecord, TaskEvent } from '../../engine/results.js';

const FIX = rootPath('test', 'fixtures', 'runner');

async function run(playbook: string, log: string, extra: Partial<Parameters<typeof runPlaybook>[0]> = {}): Promise<{ rec: RunRecord; lines: string[]; events: TaskEvent[] }> {
  const events: TaskEvent[] = [];
  const rec = await runPlaybook({
    playbook: join(FIX, playbook),
    inventories: [join(FIX, 'inventory.yml')],
    check: false,
    diff: false,
    tags: [],
    skipTags: [],
    forks: 5,
    extraVars: { log },
    detailedExitcodes: false,
    command: 'run',
    observer: { hostTaskDone: (e) => events.push(e) },
    ...extra,
  });
  let text = '';
  try {
    text = readFileSync(log, 'utf8');
  } catch {
    /* nothing ran */
  }
  return { rec, lines: text.split('\n').filter(Boolean), events };
}

describe('runner semantics on local hosts', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-sem-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('runs serial batches in order, blocks, loops, handlers, run_once, retries and any_errors_fatal', async () => {
    const log = join(dir, 'log');
    const { rec, lines } = await run('semantics.yml', log, { extraVars: { log, greeting: 'extra' } });
    // serial [1, 2]: h1 alone (canary), then h2+h3, then h4+h5; tasks in lock-step inside a batch.
    const serial = lines.filter((l) => /^(first|second) /.test(l));
    assert.deepEqual(serial.slice(0, 2), ['first h1', 'second h1']);
    assert.deepEqual(new Set(serial.slice(2, 4)), new Set(['first h2', 'first h3']));
    assert.deepEqual(new Set(serial.slice(4, 6)), new Set(['second h2', 'second h3']));
    assert.deepEqual(new Set(serial.slice(6, 8)), new Set(['first h4', 'first h5']));
    // block/rescue/always: h2 failed in the block and was rescued; h1 never needed the rescue.
    assert.ok(lines.includes('after h1') && !lines.includes('after h2'));
    assert.ok(lines.includes('rescue h2') && !lines.includes('rescue h1'));
    assert.ok(lines.includes('always h1') && lines.includes('always h2'));
    assert.equal(rec.hosts.h2.stats.rescued, 1);
    assert.equal(rec.hosts.h2.stats.failed, 0);
    // loop with loop_var
    assert.deepEqual(lines.filter((l) => l.startsWith('loop h1')), ['loop h1 eth1', 'loop h1 eth2']);
    // -e beats play vars; set_fact is per host
    assert.ok(lines.includes('fact h1 extra-h1 extra') && lines.includes('fact h2 extra-h2 extra'));
    // notified twice, the handler runs once per host, at the flush, before the next task
    assert.equal(lines.filter((l) => l === 'handler h1').length, 1);
    assert.ok(lines.indexOf('handler h1') < lines.indexOf('afterflush h1'));
    // run_once on the first host of the batch, delegated to h5 (variables stay h1's)
    assert.deepEqual(lines.filter((l) => l.startsWith('once ')), ['once h1']);
    // until/retries: third attempt succeeds
    assert.equal(readFileSync(`${log}.n`, 'utf8').trim(), '3');
    // failed_when: exit 3 is success here; ignore_errors counts as ignored, not failed
    assert.equal(rec.hosts.h1.stats.failed, 0);
    assert.equal(rec.hosts.h1.stats.ignored, 1);
    // any_errors_fatal: h3 failed, so h4 stopped too
    assert.ok(!lines.some((l) => l.startsWith('fatal-not-stopped')));
    assert.equal(rec.exitCode, 4);
  });

  it('honours --tags and --skip-tags', async () => {
    const log = join(dir, 'log');
    const only = await run('semantics.yml', log, { tags: ['special'], limit: 'h1' });
    assert.deepEqual(only.lines, ['tagged h1']);
    rmSync(log);
    const skipped = await run('semantics.yml', log, { skipTags: ['special'], limit: 'h1' });
    assert.ok(!skipped.lines.includes('tagged h1') && skipped.lines.includes('first h1'));
  });

  it('max_fail_percentage stops later batches when failures exceed it, and ends the run', async () => {
    const log = join(dir, 'log');
    const { lines, rec } = await run('maxfail.yml', log);
    // batch 1 = h1,h2: 1/2 failed = 50% > 49% → no later batch (h3..h5 never run this play)
    assert.deepEqual(lines.filter((l) => l.startsWith('ran ')), []);
    assert.equal(rec.hosts.h3, undefined);
    assert.ok(!lines.some((l) => l.startsWith('after-abort')), 'an aborted play ends the run');
    assert.equal(rec.exitCode, 4);
  });

  it('free strategy lets a fast host run ahead of a slow one', async () => {
    const log = join(dir, 'log');
    const { lines } = await run('free.yml', log);
    // h5 finishes both tasks before slow h4 finishes its first; linear would have waited.
    assert.ok(lines.indexOf('b h5') < lines.indexOf('a h4'), lines.join(','));
    const linear = await run('free.yml', join(dir, 'log2'), { strategy: 'linear' });
    assert.ok(linear.lines.indexOf('a h4') < linear.lines.indexOf('b h5'), linear.lines.join(','));
  });
});

describe('runner: review regressions on local hosts', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-rev-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const runReview = async (check: boolean, extra: Partial<Parameters<typeof runPlaybook>[0]> = {}) => {
    const events: TaskEvent[] = [];
    const rec = await runPlaybook({
      playbook: join(FIX, 'review.yml'),
      inventories: [join(FIX, 'secrets.ini')],
      check,
      diff: true,
      tags: [],
      skipTags: [],
      forks: 5,
      extraVars: { out: dir },
      detailedExitcodes: true,
      command: check ? 'check' : 'run',
      observer: { hostTaskDone: (e) => events.push(e) },
      ...extra,
    });
    const byName = (host: string, task: string) => events.find((e) => e.host === host && e.task === task)!.result;
    return { rec, events, byName };
  };

  it('a check never writes (check_mode: false included) and does not judge a command it only previewed', async () => {
    const { byName } = await runReview(true);
    assert.ok(!existsSync(join(dir, 'written-by-check')), 'check_mode: false wrote during a check');
    assert.equal(byName('l1', 'check_mode false cannot opt out of a check').status, 'changed');
    const probe = byName('l1', 'probe');
    assert.equal(probe.status, 'changed', 'changed_when must not turn a preview into in-sync');
    const dep = byName('l1', 'depends on the probe');
    assert.equal(dep.status, 'skipped');
    assert.match(dep.msg ?? '', /depends on 'probe'/);
  });

  it('masks every host secret (numbers too) in results, and no_log hides values but names the change', async () => {
    const { events, byName } = await runReview(false);
    const all = JSON.stringify(events);
    for (const secret of ['12345678', '87654321', 's3cr3t-ssh']) assert.ok(!all.includes(secret), `${secret} leaked`);
    assert.match(byName('l1', 'own and other hosts\' passwords').msg ?? '', /mine=\*{8} l2=\*{8} ssh=\*{8}/);
    const nolog = byName('l1', 'no_log hides values');
    assert.equal(nolog.status, 'changed');
    assert.ok(!JSON.stringify(nolog).includes('token-l1'));
    assert.match(nolog.changes[0].path, /nolog-l1/);
  });

  it('a task timeout kills its command; hostvars see set_fact; a failed apply keeps its changes', async () => {
    const { byName } = await runReview(false);
    const slow = byName('l1', 'slow');
    assert.equal(slow.status, 'failed');
    await new Promise((r) => setTimeout(r, 2500));
    assert.ok(!existsSync(join(dir, 'after-timeout')), 'the timed-out command went on running');
    assert.equal(readFileSync(join(dir, 'hostvars'), 'utf8'), 'unset set\n');
    const failed = byName('l1', 'apply fails');
    assert.equal(failed.status, 'failed');
    assert.ok(failed.changes.length > 0, 'the attempted changes are reported');
  });
});
