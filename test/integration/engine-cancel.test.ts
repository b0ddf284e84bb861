// The engine support long two-host work needs, driven through the real run loop on local hosts:
// ctx.signal on a task timeout (a cancellable module cleans up in its grace period, others have
// their command killed) and on the run's interruption, ctx.progress reaching the renderer,
// ctx.peer opening another inventory host, and a module's metrics reaching the task result.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import { PlayError } from '../../engine/errors.js';
import type { Module, ModuleContext } from '../../engine/module/contract.js';
import type { TaskEvent } from '../../engine/results.js';
import { MODULES } from '../../modules/index.js';
import { RUN_DEFAULTS } from '../run-defaults.js';

interface LongParams {
  seconds: number;
  peer?: string;
}

/** Sleeps on the host (a real command), watching ctx.signal; reports progress and its figures. */
function longModule(name: string, cancellable: boolean): Module<LongParams> {
  return {
    name,
    kind: 'action',
    cancellable,
    cancelGraceMs: 3000,
    summary: 'test: long work',
    params: { seconds: { type: 'num', required: true, description: 's' }, peer: { type: 'str', description: 'other host' } },
    examples: [],
    read: async () => ({}),
    diff: () => [{ path: 'sleep', action: true, message: 'would sleep' }],
    apply: async (ctx: ModuleContext, p: LongParams) => {
      const t0 = Date.now();
      ctx.progress('starting');
      let peerName: string | undefined;
      if (p.peer) {
        const other = await ctx.peer(p.peer);
        peerName = other.name;
        const r = await other.run('echo peer-ran');
        assert.equal(r.stdout.trim(), 'peer-ran');
      }
      ctx.progress('sleeping');
      // Only a cancellable module hands the signal to its command; the other ignores it. A
      // stopped command may resolve (killed) or reject (interrupted): either way the module
      // notices the signal and reports it itself.
      try {
        await ctx.host.run(`sleep ${p.seconds}`, cancellable ? { signal: ctx.signal } : {});
      } catch (e) {
        if (!ctx.signal.aborted) throw e;
      }
      const took = (Date.now() - t0) / 1000;
      if (ctx.signal.aborted) {
        const e = new PlayError(`aborted after ${took.toFixed(1)} s: ${(ctx.signal.reason as Error).message}`);
        e.metrics = { aborted_after_s: took };
        throw e;
      }
      return { data: { peer: peerName }, metrics: { slept_s: took, peer: peerName ?? 'none' } };
    },
  };
}

const INVENTORY = rootPath('test', 'fixtures', 'runner', 'inventory.yml');

describe('engine: cancellation, progress, peers and metrics (local hosts)', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-cancel-'));
    MODULES.t_long = longModule('t_long', true);
    MODULES.t_long_plain = longModule('t_long_plain', false);
  });
  after(() => {
    delete MODULES.t_long;
    delete MODULES.t_long_plain;
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(task: string, signal?: AbortSignal) {
    const pb = join(dir, `pb-${Math.random().toString(36).slice(2)}.yml`);
    writeFileSync(pb, `- hosts: h1\n  gather_facts: false\n  tasks:\n${task}`);
    const events: TaskEvent[] = [];
    const progress: string[] = [];
    const rec = await runPlaybook({
      playbook: pb,
      inventories: [INVENTORY],
      ...RUN_DEFAULTS,
      observer: { hostTaskDone: (e) => events.push(e), hostTaskProgress: (h, t, l) => progress.push(`${h} ${t}: ${l}`) },
      signal,
    });
    return { rec, event: events[0], progress };
  }

  it('a timeout aborts a cancellable module, which cleans up in its grace period and keeps its figures', async () => {
    const { event } = await run('    - name: long\n      timeout: 1\n      t_long: { seconds: 30 }\n');
    const r = event.result;
    assert.equal(r.status, 'failed');
    assert.match(r.msg!, /^aborted after 1\.\d s: task 'long' on h1 timed out after 1 s$/);
    assert.ok(r.durationMs < 4000, `took ${r.durationMs} ms`);
    assert.ok(Number(r.metrics?.aborted_after_s) >= 1);
  });

  it('a timeout kills the command of a module that is not cancellable', async () => {
    const { event } = await run('    - name: plain\n      timeout: 1\n      t_long_plain: { seconds: 30 }\n');
    assert.equal(event.result.status, 'failed');
    assert.match(event.result.msg!, /timed out/);
    assert.ok(event.result.durationMs < 4000, `took ${event.result.durationMs} ms`);
  });

  it("the run's interruption reaches the module's signal", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new PlayError('interrupted by SIGINT')), 700);
    const { event } = await run('    - name: long\n      t_long: { seconds: 30 }\n', ac.signal);
    assert.equal(event.result.status, 'failed');
    assert.match(event.result.msg!, /aborted after 0\.\d s: interrupted by SIGINT/);
  });

  it('progress reaches the renderer, a peer host is opened by name, metrics reach the result', async () => {
    const { event, progress } = await run('    - name: long\n      t_long: { seconds: 0.2, peer: h2 }\n');
    assert.equal(event.result.status, 'changed', event.result.msg);
    assert.deepEqual(progress, ['h1 long: starting', 'h1 long: sleeping']);
    assert.equal(event.result.metrics?.peer, 'h2');
    assert.ok(Number(event.result.metrics?.slept_s) >= 0.2);
  });

  it('a peer that is not an inventory host is a clear failure', async () => {
    const { event } = await run('    - name: long\n      t_long: { seconds: 0.1, peer: nope }\n');
    assert.equal(event.result.status, 'failed');
    assert.match(event.result.msg!, /'nope' is not a host of the inventory/);
  });
});
