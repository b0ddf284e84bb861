// ignore_unreachable on a real local host with a delegate that is down (nothing listens on its
// port): the item fails marked unreachable, the task counts as ignored, the host goes on.
import assert from 'node:assert/strict';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { TaskEvent } from '../../engine/results.js';
import { RUN_DEFAULTS } from '../run-defaults.js';

const DIR = rootPath('test', 'fixtures', 'runner', 'unreachable');

describe('ignore_unreachable', function () {
  this.timeout(60_000);
  it('an unreachable delegate fails its loop item only; the host goes on', async () => {
    const events: TaskEvent[] = [];
    const rec = await runPlaybook({
      playbook: `${DIR}/playbook.yml`,
      inventories: [`${DIR}/inventory.yml`],
      ...RUN_DEFAULTS,
      observer: { hostTaskDone: (e) => events.push(e) },
    });
    const [read, after] = events;
    assert.equal(read.result.status, 'failed');
    assert.equal(read.result.ignored, true);
    const results = (read.result.data as { results: Array<Record<string, unknown>> }).results;
    assert.equal(results[0].stdout, 'read h1');
    assert.equal(results[1].unreachable, true);
    assert.match(String(results[1].msg), /gone|127\.0\.0\.1/);
    assert.equal(after.task, 'after');
    assert.equal(after.result.status, 'changed');
    assert.deepEqual([rec.hosts.h1.stats.ignored, rec.hosts.h1.stats.failed, rec.exitCode], [1, 0, 0]);
  });
});
