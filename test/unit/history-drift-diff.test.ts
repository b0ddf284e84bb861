import { strict as assert } from 'node:assert';
import type { RunRecord } from '../../engine/results.js';
import { driftDiff, formatDriftDiff } from '../../engine/report/index.js';
import { loadRecord } from './report-fixture.js';

const tcp = (rec: RunRecord) => rec.hosts.hv2.tasks[1];
const mtu = (rec: RunRecord) => rec.hosts.hv2.tasks[2];
const later = (rec: RunRecord) => ({ ...rec, startedAt: '2026-11-24T08:15:00.000Z' });

/** hv3 reachable and in sync: a copy of hv1 renamed. */
function hv3InSync(rec: RunRecord): RunRecord {
  rec.hosts.hv3 = structuredClone(rec.hosts.hv1);
  for (const t of rec.hosts.hv3.tasks) t.host = 'hv3';
  return rec;
}

describe('drift diff', () => {
  it('nothing moved: every drift is still drifted', () => {
    const d = driftDiff(loadRecord(), later(loadRecord()));
    assert.deepEqual([d.added.length, d.resolved.length, d.unknown.length], [0, 0, 0]);
    assert.deepEqual(d.still.map((s) => s.current.change.path), ['runtime net.ipv4.tcp_rmem', 'file /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem', 'eth1 mtu']);
  });

  it('new drift, resolved drift, and a value that moved', () => {
    const prev = loadRecord();
    const cur = later(loadRecord());
    // Someone fixed the MTU by hand, the runtime value moved again, and hv1 drifted.
    mtu(cur).result = { ...mtu(cur).result, status: 'ok', changes: [] };
    tcp(cur).result.changes = [{ path: 'runtime net.ipv4.tcp_rmem', from: '4096 16384 4194304', to: '4096 87380 16777216' }];
    cur.hosts.hv1.tasks[2].result = { ...cur.hosts.hv1.tasks[2].result, status: 'changed', changes: [{ path: 'eth1 mtu', from: 1500, to: 9000 }] };
    const d = driftDiff(prev, cur);
    assert.deepEqual(d.added.map((i) => [i.host, i.task, i.change.path]), [['hv1', 'Jumbo frames on the migration network', 'eth1 mtu']]);
    assert.deepEqual(d.resolved.map((i) => [i.host, i.change.path]), [['hv2', 'file /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem'], ['hv2', 'eth1 mtu']]);
    assert.deepEqual(d.still.map((s) => [s.previous.change.from, s.current.change.from]), [['4096\t131072\t6291456', '4096 16384 4194304']]);
    assert.equal(
      formatDriftDiff(d),
      [
        'drift since 2026-11-24T08:00:00.000Z: 1 new, 2 resolved, 1 still drifted, 0 unknown',
        '  + hv1 eth1 mtu 1500 → 9000  [Jumbo frames on the migration network]',
        '  - hv2 file /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem: missing line  [TCP buffers for migration]',
        '  - hv2 eth1 mtu 1500 → 9000  [Jumbo frames on the migration network]',
        "  = hv2 runtime net.ipv4.tcp_rmem '4096 16384 4194304' → '4096 87380 16777216'  [TCP buffers for migration]",
      ].join('\n'),
    );
  });

  it('a drifted host that is unreachable now is unknown, not resolved', () => {
    const prev = loadRecord();
    const cur = later(loadRecord());
    cur.hosts.hv2 = structuredClone(cur.hosts.hv3);
    cur.hosts.hv2.tasks[0].host = 'hv2';
    const d = driftDiff(prev, cur);
    assert.equal(d.resolved.length, 0);
    assert.equal(d.unknown.length, 3);
    assert.match(d.unknown[0].reason, /^not run: host unreachable: cannot connect/);
    assert.match(formatDriftDiff(d), /\? hv2 eth1 mtu 1500 → 9000 {2}\[Jumbo frames on the migration network\] \(now unknown: not run: host unreachable/);
  });

  it('a drifted task that fails now is unknown, and so are the tasks the host never reached after it', () => {
    const prev = loadRecord();
    const cur = later(loadRecord());
    tcp(cur).result = { ...tcp(cur).result, status: 'failed', changes: [], msg: 'sysctl: permission denied' };
    cur.hosts.hv2.tasks.splice(2, 1);
    const d = driftDiff(prev, cur);
    assert.deepEqual(d.unknown.map((u) => [u.previous.change.path, u.reason]), [
      ['runtime net.ipv4.tcp_rmem', 'failed: sysctl: permission denied'],
      ['file /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem', 'failed: sysctl: permission denied'],
      ['eth1 mtu', 'not run: host failed earlier at task \'TCP buffers for migration\''],
    ]);
  });

  it('drift of a task no longer in the playbook is unknown, not resolved', () => {
    const prev = loadRecord();
    const cur = later(loadRecord());
    for (const h of Object.values(cur.hosts)) h.tasks = h.tasks.filter((t) => t.task !== 'Jumbo frames on the migration network');
    const d = driftDiff(prev, cur);
    assert.deepEqual(d.unknown.map((u) => [u.previous.change.path, u.reason]), [['eth1 mtu', 'task not in the current run']]);
    assert.equal(d.still.length, 2);
  });

  it('a host back from unreachable with drift shows it as new', () => {
    const prev = loadRecord();
    const cur = hv3InSync(later(loadRecord()));
    mtu(cur).result = { ...mtu(cur).result, status: 'ok', changes: [] };
    tcp(cur).result = { ...tcp(cur).result, status: 'ok', changes: [] };
    cur.hosts.hv3.tasks[2].result = { ...cur.hosts.hv3.tasks[2].result, status: 'changed', changes: [{ path: 'eth1 mtu', from: 1500, to: 9000 }] };
    const d = driftDiff(prev, cur);
    assert.deepEqual(d.added.map((i) => `${i.host} ${i.change.path}`), ['hv3 eth1 mtu']);
    assert.equal(d.resolved.length, 3);
  });

  it('actions ("would run") are not drift', () => {
    const prev = loadRecord();
    const cur = later(loadRecord());
    cur.hosts.hv1.tasks[3].result = { ...cur.hosts.hv1.tasks[3].result, status: 'changed', msg: undefined, changes: [{ path: 'service libvirtd', message: 'would restart', action: true }] };
    assert.equal(driftDiff(prev, cur).added.length, 0);
  });
});
