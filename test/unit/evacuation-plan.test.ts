// evacuation_plan through the engine's own loop: one case per fixture file (virsh_domains facts of
// every hypervisor → the expected placement, waves, failures), plus the duration estimate.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { TaskEvent } from '../../engine/results.js';
import { expectedSeconds } from '../../modules/evacuation_plan/plan.js';
import { parseDirtyRates } from '../../modules/evacuation_plan/parse.js';

const DIR = rootPath('test', 'fixtures', 'evacuation_plan');

const DEFAULTS = {
  exclude: [],
  roll: [],
  reserve_mib: 256,
  pinned: {},
  anti_affinity: {},
  cpu_class: {},
  parallel_per_source: 2,
  parallel_per_target: 1,
  parallel_per_cluster: 5,
  bandwidth_mib_s: 128,
  dirty_rate_mib_s: 0,
  dirty_rates: {},
};

interface Expected {
  failed: boolean;
  migrations?: Array<[string, string, number]>;
  waves?: string[][];
  expected_s?: number;
  msg_has?: string[];
  unplaceable?: string[];
  left_out?: Array<[string, string]>;
}

async function planOf(c: Record<string, unknown>): Promise<TaskEvent> {
  const events: TaskEvent[] = [];
  await runPlaybook({
    playbook: join(DIR, 'plan.yml'),
    inventories: [join(DIR, 'inventory.yml')],
    check: true, // a plan runs in check mode: the drain's --check prints it
    diff: false,
    tags: [],
    skipTags: [],
    forks: 1,
    extraVars: { case: { ...DEFAULTS, ...c } },
    detailedExitcodes: false,
    command: 'run',
    observer: { hostTaskDone: (e) => events.push(e) },
  });
  assert.equal(events.length, 1);
  return events[0];
}

describe('evacuation_plan (fixtures)', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.json'))) {
    it(file.replace('.json', ''), async () => {
      const { expected: want, ...c } = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as Record<string, unknown> & { expected: Expected };
      const ev = await planOf(c);
      const r = ev.result;
      assert.equal(r.status, want.failed ? 'failed' : 'ok', r.msg);
      const data = r.data as { migrations: Array<{ vm: string; to: string; wave: number }>; waves: string[][]; expected_s: number; unplaceable: Array<{ vm: string }>; left_out: Array<{ host: string; reason: string }> };
      if (want.migrations) assert.deepEqual(data.migrations.map((m) => [m.vm, m.to, m.wave]), want.migrations);
      if (want.waves) assert.deepEqual(data.waves, want.waves);
      if (want.expected_s !== undefined) assert.equal(data.expected_s, want.expected_s);
      if (want.unplaceable) assert.deepEqual(data.unplaceable.map((u) => u.vm), want.unplaceable);
      if (want.left_out) assert.deepEqual(data.left_out.map((l) => [l.host, l.reason]), want.left_out);
      for (const s of want.msg_has ?? []) assert.ok(r.msg?.includes(s), `message lacks '${s}':\n${r.msg}`);
    });
  }
});

describe('evacuation_plan duration estimate', () => {
  it('pre-copy rounds: memory / (bandwidth − dirty rate), plus the setup', () => {
    assert.equal(expectedSeconds(256, { bandwidthMibS: 128, dirtyRateMibS: 0, setupS: 2 }), 4);
    assert.equal(expectedSeconds(400, { bandwidthMibS: 100, dirtyRateMibS: 20, setupS: 2 }), 7);
  });
  it('a dirty rate near the bandwidth: the converge policy throttles, counted as a doubled copy', () => {
    assert.equal(expectedSeconds(256, { bandwidthMibS: 20, dirtyRateMibS: 32, setupS: 0 }), 25.6);
  });
});

describe('evacuation_plan measured dirty rates (virsh domstats --dirtyrate, captured on the lab)', () => {
  it('a finished measurement gives each guest its MiB/s', () => {
    assert.deepEqual(parseDirtyRates(readFileSync(join(DIR, 'dirtyrate', 'measured.txt'), 'utf8')), { g1: 2, g2: 4, g3: 2 });
  });
  it('a measurement still running (calc_status 1) gives none', () => {
    assert.deepEqual(parseDirtyRates(readFileSync(join(DIR, 'dirtyrate', 'measuring.txt'), 'utf8')), {});
  });
});

