// Keyed concurrency limits: the registry's granting order and the keywords' validation.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { setImmediate as tick } from 'node:timers/promises';
import { LimitAborted, LimitRegistry, runParallel } from '../../engine/runner/limits.js';
import { ValidationError, formatProblem } from '../../engine/errors.js';
import { rootPath } from '../../engine/paths.js';
import { loadPlaybook } from '../../engine/playbook/load.js';

describe('LimitRegistry', () => {
  it('takes every key at once or none: a waiter holds nothing while it waits', async () => {
    const reg = new LimitRegistry();
    const order: string[] = [];
    const releaseA = await reg.acquire([{ key: 'x', max: 1 }]);
    // B needs x and y: it waits for x without taking y, so C (y only) starts at once
    const b = reg.acquire([{ key: 'x', max: 1 }, { key: 'y', max: 1 }]).then((r) => (order.push('B'), r));
    const releaseC = await reg.acquire([{ key: 'y', max: 1 }]);
    order.push('C');
    await tick();
    assert.deepEqual(order, ['C']);
    releaseA(); // x is free, y is still C's
    await tick();
    assert.deepEqual(order, ['C']);
    releaseC();
    (await b)();
    assert.deepEqual(order, ['C', 'B']);
    assert.deepEqual(reg.stats().peak, { x: 1, y: 1 });
  });

  it('each holder respects its own max; a key named twice counts once, with the smaller max', async () => {
    const reg = new LimitRegistry();
    const r1 = await reg.acquire([{ key: 'k', max: 3 }, { key: 'k', max: 2 }]);
    const r2 = await reg.acquire([{ key: 'k', max: 3 }]);
    let third = false;
    const p = reg.acquire([{ key: 'k', max: 2 }]).then((r) => ((third = true), r));
    await tick();
    assert.equal(third, false); // 2 held, this one allows 2
    const r4 = await reg.acquire([{ key: 'k', max: 3 }]); // …but this one allows 3
    r1();
    r2(); // 1 held now: room under 2
    (await p)();
    r4();
    r4(); // a second release changes nothing
    (await reg.acquire([{ key: 'k', max: 1 }]))(); // nothing is held any more
    assert.equal(reg.stats().peak.k, 3);
  });

  it('an aborted wait leaves the queue holding nothing, and a later waiter still starts', async () => {
    const reg = new LimitRegistry();
    const release = await reg.acquire([{ key: 'k', max: 1 }]);
    const ac = new AbortController();
    const aborted = reg.acquire([{ key: 'k', max: 1 }], ac.signal);
    let later = false;
    const next = reg.acquire([{ key: 'k', max: 1 }]).then((r) => ((later = true), r));
    ac.abort(new Error('interrupted'));
    await assert.rejects(aborted, (e: Error) => e instanceof LimitAborted && /not started: interrupted/.test(e.message));
    release();
    (await next)();
    assert.equal(later, true);
    await assert.rejects(reg.acquire([{ key: 'k', max: 1 }], ac.signal), LimitAborted); // already aborted: never queued
  });

  it('runParallel keeps at most N jobs going and stops starting new ones on demand', async () => {
    let running = 0;
    let most = 0;
    const started: number[] = [];
    await runParallel(6, 2, async (i) => {
      started.push(i);
      most = Math.max(most, ++running);
      await tick();
      running--;
    }, () => started.includes(3));
    assert.equal(most, 2);
    assert.deepEqual(started, [0, 1, 2, 3]);
  });
});

describe('concurrency keywords are validated with their position', () => {
  it('throttle, limits and loop_control.parallel', () => {
    const dir = rootPath('test', 'fixtures', 'playbooks', 'limits');
    let got: string[] = [];
    try {
      loadPlaybook(`${dir}/bad.yml`);
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      got = e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, ''));
    }
    assert.deepEqual(got, readFileSync(`${dir}/bad.expected`, 'utf8').trimEnd().split('\n'));
  });
});
