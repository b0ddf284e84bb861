// evacuation_report: every guest accounted for, from the registers a drain leaves behind.
import assert from 'node:assert/strict';
import { reportLines, vmRows, type PlanData } from '../../modules/evacuation_report/rows.js';
import { observe } from '../../modules/evacuation_report/observed.js';

const plan: PlanData = {
  migrations: [
    { vm: 'g1', from: 'hv1', to: 'hv2' },
    { vm: 'g2', from: 'hv1', to: 'hv3' },
    { vm: 'g3', from: 'hv1', to: 'hv2' },
  ],
};
const item = (vm: string, to: string) => ({ vm, from: 'hv1', to });

describe('evacuation_report rows', () => {
  it('a failed migration stops the drain: the guest is on its source, the next one never started', () => {
    const moved = {
      results: [
        { item: item('g1', 'hv2'), changed: true, failed: false, migrated: true, total_s: 3.1, downtime_ms: 42, strategy: 'precopy' },
        { item: item('g2', 'hv3'), changed: false, failed: true, msg: 'operation failed: domain is no longer running' },
        { item: item('g3', 'hv2'), changed: false, failed: false, skipped: true, msg: 'not started: loop_control.break_when ended the loop' },
      ],
    };
    const rows = vmRows('hv1', plan, moved, null);
    assert.deepEqual(rows.map((r) => [r.vm, r.result, r.location]), [['g1', 'moved', 'hv2'], ['g2', 'failed', 'hv1'], ['g3', 'not started', 'hv1']]);
    assert.deepEqual([rows[0].total_s, rows[0].downtime_ms, rows[0].strategy], [3.1, 42, 'precopy']);
    const text = reportLines('hv1', rows).join('\n');
    assert.match(text, /g1\s+hv1 → hv2  moved, on hv2 \(3\.1 s, downtime 42 ms, precopy\)/);
    assert.match(text, /g2\s+hv1 → hv3  failed, on hv1: operation failed/);
  });

  it('return_vms: moved and returned, or a failed return leaves it on the target', () => {
    const moved = { results: [{ item: item('g1', 'hv2'), migrated: true }, { item: item('g2', 'hv3'), migrated: true }, { item: item('g3', 'hv2'), migrated: true }] };
    const back = { results: [{ item: { vm: 'g3', from: 'hv2', to: 'hv1' }, migrated: true }, { item: { vm: 'g2', from: 'hv3', to: 'hv1' }, failed: true, msg: 'x' }, { item: { vm: 'g1', from: 'hv2', to: 'hv1' }, skipped: true }] };
    const rows = vmRows('hv1', plan, moved, back);
    assert.deepEqual(rows.map((r) => [r.vm, r.result, r.location]), [['g1', 'moved', 'hv2'], ['g2', 'return failed', 'hv3'], ['g3', 'moved and returned', 'hv1']]);
  });

  it('a failed plan: nothing moved, the guests that fit nowhere named with their memory', () => {
    const failed: PlanData = { failed: true, migrations: [{ vm: 'small', from: 'hv1', to: 'hv3' }], unplaceable: [{ vm: 'huge', memory_mib: 3072, reasons: ['hv2 has 1280 MiB free'] }] };
    const rows = vmRows('hv1', failed, null, null);
    assert.deepEqual(rows.map((r) => [r.vm, r.result, r.location]), [['small', 'not moved (plan failed)', 'hv1'], ['huge', 'fits nowhere', 'hv1']]);
    assert.equal(rows[1].msg, '3072 MiB: hv2 has 1280 MiB free');
  });

  it('a check moves nothing: pending migrations read as would move, on the source', () => {
    const moved = { results: [{ item: item('g1', 'hv2'), changed: true, failed: false, migrated: false, from: 'hv1', to: 'hv2' }] };
    const rows = vmRows('hv1', { migrations: [plan.migrations![0]] }, moved, null, true);
    assert.deepEqual(rows.map((r) => [r.vm, r.result, r.location]), [['g1', 'would move', 'hv1']]);
  });

  it('an empty host: nothing to account for', () => {
    assert.deepEqual(reportLines('hv1', vmRows('hv1', { migrations: [] }, { results: [] }, null)), ['hv1: no guests to account for']);
  });
});

describe('evacuation_report observed locations', () => {
  const host = (running: string[]) => ({ domains: [], running, free_memory_kib: 0, cpus: 2 });
  it('a migration that said it finished but whose guest runs nowhere, or twice, is named', () => {
    const rows = vmRows('hv1', plan, { results: [{ item: item('g1', 'hv2'), migrated: true }, { item: item('g2', 'hv3'), migrated: true }, { item: item('g3', 'hv2'), failed: true, msg: 'x' }] }, null);
    const { rows: seen, problems } = observe(rows, { hv1: host(['g3']), hv2: host(['g1', 'g2']), hv3: host(['g2']) });
    assert.deepEqual(seen.map((r) => r.location), ['hv2', 'hv2 and hv3', 'hv1']);
    assert.deepEqual(problems, ['g2 runs on 2 hypervisors at once: hv2, hv3']);
    const lost = observe(rows, { hv1: host([]), hv2: host(['g1', 'g2']), hv3: host([]) });
    assert.deepEqual(lost.problems, ['g3 runs on no hypervisor']);
    assert.equal(lost.rows[2].location, 'NOWHERE');
  });
  it('a guest paused on its target counts as there (virsh_domains active), not as lost', () => {
    const rows = vmRows('hv1', { migrations: [plan.migrations![0]] }, { results: [{ item: item('g1', 'hv2'), migrated: true }] }, null);
    const { rows: seen, problems } = observe(rows, { hv1: host([]), hv2: { ...host([]), active: ['g1'] } });
    assert.deepEqual(problems, []);
    assert.equal(seen[0].location, 'hv2');
  });
  it('a guest not seen while a hypervisor is unreachable is unknown, not lost', () => {
    const rows = vmRows('hv1', { migrations: [plan.migrations![0]] }, { results: [{ item: item('g1', 'hv2'), migrated: true }] }, null);
    const { rows: seen, problems } = observe(rows, { hv1: host([]), hv2: { unreachable: 'connection refused' } });
    assert.deepEqual(problems, []);
    assert.match(seen[0].location, /^unknown \(not running on a reachable host; hv2 unreachable\)$/);
  });
});

