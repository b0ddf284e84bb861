// sysctl `compare: minimum` (issue 8 §4): buffer sizes are "at least", so a host whose kernel
// already allows more keeps it, in the running value and in the drop-in.
import assert from 'node:assert/strict';
import { formatChange, normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { satisfies, settingOf, target } from '../../modules/sysctl/compare.js';
import { sysctl, type SysctlParams, type SysctlState } from '../../modules/sysctl/index.js';

const FILE = '/etc/sysctl.d/90-live-migration.conf';
const RMEM = '4096 87380 16777216';
const min = (value: unknown) => ({ value, compare: 'minimum' });

function params(settings: Record<string, unknown>): { p: SysctlParams; problems: string[] } {
  const problems: SchemaProblem[] = [];
  const p = validateParams(sysctl.params, { settings }, problems) as unknown as SysctlParams;
  return { p, problems: problems.map((x) => `${x.path.join('.')}: ${x.message}`) };
}

const state = (rmem: string, file: string | null): SysctlState => ({
  host: 'hv1',
  keys: { 'net.ipv4.tcp_rmem': { exists: true, writable: true, value: rmem }, 'net.ipv4.tcp_mtu_probing': { exists: true, writable: true, value: '0' } },
  file,
});

function diff(st: SysctlState, settings: Record<string, unknown>) {
  const d = normalizeDiff(sysctl.diff!(st, params(settings).p));
  return { lines: d.changes.map(formatChange), after: d.changes.find((c) => c.after !== undefined)?.after };
}

describe('sysctl compare: minimum', () => {
  it('field by field: in sync when every field is at least the wanted one; lower fields raised, higher kept', () => {
    const s = settingOf(min(RMEM));
    assert.equal(satisfies('4096 131072 33554432', s), true);
    assert.equal(satisfies('4096 65536 33554432', s), false);
    assert.equal(target('4096 65536 33554432', s), '4096 87380 33554432');
    assert.equal(target('4096 65536 6291456', s), RMEM);
    // Another shape (field count) is replaced whole; exact stays exact.
    assert.equal(target('1 2', s), RMEM);
    assert.equal(satisfies('4096 131072 33554432', settingOf(RMEM)), false);
  });

  it("the lab's 32 MiB kernel default is not lowered to 16 MiB: in sync at runtime, the drop-in persists what runs", () => {
    const d = diff(state('4096 131072 33554432', null), { 'net.ipv4.tcp_rmem': min(RMEM), 'net.ipv4.tcp_mtu_probing': 1 });
    assert.deepEqual(d.lines, [
      "runtime net.ipv4.tcp_mtu_probing: '0' → '1'",
      `file ${FILE} net.ipv4.tcp_rmem: missing line`,
      `file ${FILE} net.ipv4.tcp_mtu_probing: missing line`,
    ]);
    assert.match(d.after!, /^net\.ipv4\.tcp_rmem = 4096 131072 33554432$/m);
  });

  it('says "at least" when it raises, and "bigger values kept" when it keeps a field', () => {
    const d = diff(state('4096 65536 33554432', 'net.ipv4.tcp_rmem = 4096 87380 33554432\n'), { 'net.ipv4.tcp_rmem': min(RMEM) });
    assert.deepEqual(d.lines, [`runtime net.ipv4.tcp_rmem: '4096 65536 33554432' → '4096 87380 33554432' (at least '${RMEM}'; bigger values kept)`]);
    const low = diff(state('4096 65536 6291456', 'net.ipv4.tcp_rmem = 4096 65536 6291456\n'), { 'net.ipv4.tcp_rmem': min(RMEM) });
    assert.deepEqual(low.lines, [
      `runtime net.ipv4.tcp_rmem: '4096 65536 6291456' → '${RMEM}' (at least '${RMEM}')`,
      `file ${FILE} net.ipv4.tcp_rmem: '4096 65536 6291456' → '${RMEM}' (at least '${RMEM}')`,
    ]);
  });

  it('a drop-in line above the minimum is left as it is', () => {
    assert.deepEqual(diff(state('4096 131072 33554432', 'net.ipv4.tcp_rmem = 4096 131072 67108864\n'), { 'net.ipv4.tcp_rmem': min(RMEM) }).lines, []);
  });

  it('validation: minimum needs whole numbers; unknown keys and compare values are refused', () => {
    assert.deepEqual(params({ 'net.ipv4.tcp_rmem': min('4096 lots') }).problems, [
      `settings.net.ipv4.tcp_rmem: compare: minimum needs whole numbers (e.g. '4096 87380 16777216'), got "4096 lots"`,
    ]);
    assert.deepEqual(params({ a: { value: 1, compare: 'atleast' }, b: { value: 1, cmp: 'minimum' } }).problems, [
      `settings.a: compare: must be 'exact' or 'minimum', got "atleast"`,
      "settings.b: unknown key 'cmp': a setting is { value, compare }",
    ]);
    assert.deepEqual(params({ 'net.core.rmem_max': min('{{ size }}') }).problems, []);
  });
});
