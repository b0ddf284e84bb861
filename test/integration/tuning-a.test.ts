// ethtool, sysctl, mtu and facts on real lab hosts over real SSH (lab 'tunea', octet 23, 3 hosts):
// timelines (apply → changed, again → nothing, check → drift reported and nothing changed, a change
// behind our back detected and named) and every clear-error path of the three modules.
import assert from 'node:assert/strict';
import type { ConnectionPool } from '../../engine/connection/pool.js';
import type { Host } from '../../engine/connection/host.js';
import { formatChange, type Module } from '../../engine/module/contract.js';
import { runModule } from '../module-loop.js';
import { gatherFacts } from '../../engine/facts/gather.js';
import { ethtool } from '../../modules/ethtool/index.js';
import { sysctl } from '../../modules/sysctl/index.js';
import { mtu } from '../../modules/mtu/index.js';
import { testLabName, testOctet, connectLab, nsExec, startLab, stopLab, type LabInfo } from './lab-fixture.js';

const NAME = testLabName('tunea');
const OCTET = testOctet(23);
const FILE = '/etc/sysctl.d/90-live-migration.conf';

/** The engine's module loop (test/module-loop.ts), its outcome in the shape these assertions read. */
async function task(host: Host, mod: Module, raw: Record<string, unknown>, check = false) {
  const r = await runModule(host, mod, raw, { check, mayFail: true });
  return { status: r.status, changes: r.changes.map(formatChange), failures: r.failures, warnings: r.warnings };
}

describe('tuning modules on the lab over real SSH (tunea)', function () {
  this.timeout(60_000);
  let lab: LabInfo;
  let pool: ConnectionPool;
  let hv: Host[];
  const ns = (i: number) => lab.hosts[i].ns;
  const sh = async (i: number, cmd: string) => (await nsExec(ns(i), cmd)).stdout;

  before(async () => {
    lab = await startLab({ name: NAME, hosts: 3, octet: OCTET }); // downs leftovers of a crashed run first
    ({ pool, hosts: hv } = await connectLab(lab));
  });

  after(async () => {
    await pool?.closeAll();
    await stopLab(NAME);
  });

  describe('sysctl', () => {
    const settings = { 'net.ipv4.tcp_rmem': '4096 87380 16777216', 'net.ipv4.tcp_wmem': '4096\t65536 16777216', 'net.ipv4.tcp_mtu_probing': true };

    it('timeline: changed, then nothing, then check names runtime and file drift and changes nothing', async () => {
      const first = await task(hv[0], sysctl, { settings });
      assert.equal(first.status, 'changed');
      assert.ok(first.changes.includes(`file ${FILE} net.ipv4.tcp_rmem: missing line`), first.changes.join('\n'));
      assert.equal((await sh(0, 'sysctl -n net.ipv4.tcp_rmem')).trim(), '4096\t87380\t16777216');
      assert.match(await sh(0, `cat ${FILE}`), /^net\.ipv4\.tcp_wmem = 4096 65536 16777216$/m);

      assert.deepEqual(await task(hv[0], sysctl, { settings }), { status: 'ok', changes: [], failures: [], warnings: [] });

      // Behind our back: the running value and the file (an operator line is added, ours removed).
      await sh(0, "sysctl -q -w net.ipv4.tcp_rmem='4096 131072 6291456'");
      await sh(0, `sed -i '/tcp_wmem/d' ${FILE}; echo 'net.ipv4.tcp_fin_timeout = 20' >> ${FILE}`);
      const check = await task(hv[0], sysctl, { settings }, true);
      assert.deepEqual(check.changes, [
        "runtime net.ipv4.tcp_rmem: '4096 131072 6291456' → '4096 87380 16777216'",
        `file ${FILE} net.ipv4.tcp_wmem: missing line`,
      ]);
      assert.equal((await sh(0, 'sysctl -n net.ipv4.tcp_rmem')).trim(), '4096\t131072\t6291456', 'check mode changed the host');

      assert.equal((await task(hv[0], sysctl, { settings })).status, 'changed');
      const file = await sh(0, `cat ${FILE}`);
      assert.match(file, /^net\.ipv4\.tcp_fin_timeout = 20$/m, 'the operator line was kept');
      assert.match(file, /^net\.ipv4\.tcp_wmem = 4096 65536 16777216$/m);
      assert.match(await sh(0, `ls ${FILE}.*~`), /90-live-migration\.conf\.\d{4}-\d\d-\d\d@/, 'a backup was kept');
      // Other hosts are other namespaces: untouched.
      assert.equal((await sh(1, `[ -e ${FILE} ] && echo yes || echo no`)).trim(), 'no');
    });

    it('net.core.rmem_max inside a namespace: a clear error naming key, host and running value, in check mode too', async () => {
      const running = (await sh(1, 'sysctl -n net.core.rmem_max')).trim();
      const want = String(Number(running) + 4096);
      for (const check of [true, false]) {
        const r = await task(hv[1], sysctl, { settings: { 'net.core.rmem_max': want }, persist: false }, check);
        assert.equal(r.status, 'failed');
        assert.deepEqual(r.failures, [`net.core.rmem_max cannot be set on hv2: read-only in this context (network namespace?) — running value stays ${running}`]);
      }
      assert.equal((await sh(1, 'sysctl -n net.core.rmem_max')).trim(), running);
    });

    it('an unknown key is found by read', async () => {
      const r = await task(hv[1], sysctl, { settings: { 'net.ipv4.tcp_nonsense': 1 } }, true);
      assert.deepEqual(r.failures, ['net.ipv4.tcp_nonsense is not a sysctl key on hv2 (no /proc/sys/net/ipv4/tcp_nonsense)']);
      assert.equal((await sh(1, `[ -e ${FILE} ] && echo yes || echo no`)).trim(), 'no');
    });
  });

  describe('ethtool', () => {
    it('timeline: gro and channels set, again nothing, check names drift behind our back', async () => {
      const p = { interface: 'eth1', features: { gro: true, tso: 'on' }, channels: { rx: 'max' } };
      await sh(2, 'ethtool -K eth1 gro off; ethtool -L eth1 rx 1');
      const first = await task(hv[2], ethtool, p);
      assert.deepEqual(first.changes, ["eth1 feature generic-receive-offload: 'off' → 'on'", 'eth1 channels rx: 1 → 2']);
      assert.match(await sh(2, 'ethtool -k eth1'), /^generic-receive-offload: on$/m);
      assert.equal((await task(hv[2], ethtool, p)).status, 'ok');
      await sh(2, 'ethtool -K eth1 gro off');
      const check = await task(hv[2], ethtool, p, true);
      assert.deepEqual(check.changes, ["eth1 feature generic-receive-offload: 'off' → 'on'"]);
      assert.match(await sh(2, 'ethtool -k eth1'), /^generic-receive-offload: off$/m, 'check mode changed the host');
    });

    it('rings on veth: fail by default, warn and go on with unsupported: warn', async () => {
      const failed = await task(hv[2], ethtool, { interface: 'eth1', rings: { rx: 4096 }, features: { gro: true } });
      assert.equal(failed.status, 'failed');
      assert.deepEqual(failed.failures, ['eth1 ring rx: the driver (veth) does not support ring sizes (Operation not supported)']);
      assert.match(await sh(2, 'ethtool -k eth1'), /^generic-receive-offload: off$/m, 'a failed task applied nothing');

      const warned = await task(hv[2], ethtool, { interface: 'eth1', rings: { rx: 4096 }, features: { gro: true }, unsupported: 'warn' });
      assert.equal(warned.status, 'changed');
      assert.deepEqual(warned.changes, ["eth1 feature generic-receive-offload: 'off' → 'on'"]);
      assert.ok(warned.warnings.includes('eth1 ring rx: the driver (veth) does not support ring sizes (Operation not supported) (skipped)'), warned.warnings.join('\n'));
    });

    it('lro is [fixed] on veth', async () => {
      const r = await task(hv[2], ethtool, { interface: 'eth1', features: { lro: true } });
      assert.deepEqual(r.failures, ['eth1 feature large-receive-offload (lro): fixed off by the driver (veth), cannot turn it on']);
    });
  });

  describe('mtu', () => {
    const ip = (i: number) => lab.hosts[i].migrationIp;

    it('timeline: disruptive change, path verified after apply, again nothing, drift behind our back', async () => {
      assert.equal((await task(hv[1], mtu, { interface: 'eth1', mtu: 9000 })).status, 'changed');
      const first = await task(hv[0], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [ip(1)] });
      assert.deepEqual(first.changes, ['eth1 mtu: 1500 → 9000 (disruptive)']);
      assert.equal(first.status, 'changed');
      assert.deepEqual(first.failures, []);
      assert.deepEqual(await task(hv[0], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [ip(1)] }), { status: 'ok', changes: [], failures: [], warnings: [] });

      await sh(1, 'ip link set dev eth1 mtu 1500');
      const check = await task(hv[1], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [ip(0)] }, true);
      assert.deepEqual(check.changes, ['eth1 mtu: 1500 → 9000 (disruptive)']);
      assert.deepEqual(check.failures, [], 'no false failure while the MTU is still to change');
      assert.deepEqual(check.warnings, [`path MTU check to ${ip(0)} pending: eth1 is at 1500, not yet 9000 (it runs once the MTU is set)`]);
      assert.match(await sh(1, 'ip link show dev eth1'), / mtu 1500 /, 'check mode changed the host');
    });

    it('a peer whose eth1 is at 1500 fails the path check with the exact sentence (check mode too)', async () => {
      await sh(0, 'ip link set dev eth1 mtu 9000');
      await sh(2, 'ip link set dev eth1 mtu 1500');
      const r = await task(hv[0], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [ip(2)] }, true);
      assert.equal(r.status, 'failed');
      assert.deepEqual(r.failures, [`path MTU to ${ip(2)} is below 9000 (a hop drops 8972-byte frames)`]);
      // A real run: the change is made, and the re-read after it verifies the path and fails.
      const run = await task(hv[2], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [ip(1)] });
      assert.equal(run.status, 'failed');
      assert.deepEqual(run.changes, ['eth1 mtu: 1500 → 9000 (disruptive)']);
      assert.deepEqual(run.failures, [`path MTU to ${ip(1)} is below 9000 (a hop drops 8972-byte frames)`]);
    });

    it('above the device maximum: found by read', async () => {
      const r = await task(hv[2], mtu, { interface: 'eth1', mtu: 65536 }, true);
      assert.deepEqual(r.failures, ['eth1 mtu 65536 is above the device maximum 65535']);
    });

    it('peers are pinged in parallel, each judged on its own', async () => {
      await sh(0, 'ip link set dev eth1 mtu 9000');
      await sh(1, 'ip link set dev eth1 mtu 9000');
      // Two addresses nobody holds: each costs 2 s (full-size ping, then a small one) if run in turn.
      const silent = [250, 251].map((n) => ip(0).replace(/\d+$/, String(n)));
      const t0 = Date.now();
      const r = await task(hv[0], mtu, { interface: 'eth1', mtu: 9000, verify_peers: [silent[0], ip(1), silent[1]] }, true);
      const took = Date.now() - t0;
      assert.deepEqual(r.failures, silent.map((a) => `cannot verify the path MTU to ${a}: it does not answer ping`));
      assert.ok(took < 3500, `pings ran in turn (${took} ms)`);
    });
  });

  it('facts in one round trip over SSH: the host\'s own eth1, veth driver, no libvirt there', async () => {
    const f = await gatherFacts(hv[1]);
    assert.equal(f.interfaces.eth1.driver, 'veth');
    assert.ok(f.interfaces.eth1.addresses.some((a) => a.address === lab.hosts[1].migrationIp));
    assert.equal(f.os?.distribution, 'Debian');
    assert.ok(f.kernel && f.cpu && f.cpu.count >= 1 && f.memory_total_bytes);
    assert.equal(typeof f.systemd, 'boolean');
  });
});
