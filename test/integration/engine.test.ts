// End to end through the real CLI on real lab hosts over SSH (lab 'eng', 3 hosts).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { play } from './play-cli.js';
import { testLabName, testOctet, startLab, stopLab, acceptedConnections, nsExec, stopHost, startHost, type LabInfo } from './lab-fixture.js';

const FIX = rootPath('test', 'fixtures', 'engine');
const ENG = testLabName('eng');

describe('engine end to end on the lab (eng)', function () {
  this.timeout(180_000);
  let lab: LabInfo;
  const hostFile = async (ns: string, path: string) => (await nsExec(ns, `cat ${path}`)).stdout;
  const sh = async (ns: string, cmd: string) => (await nsExec(ns, cmd, { check: false })).stdout;

  before(async () => {
    lab = await startLab({ name: ENG, hosts: 3, octet: testOctet(26) });
    for (const h of lab.hosts) await sh(h.ns, 'rm -f /etc/play/migration.conf /etc/play/settings.ini /etc/play/handler-ran /etc/play/*~');
  });
  after(async () => {
    await stopLab(ENG);
  });

  it('validates a broken playbook with every problem at file:line:col and connects to nothing', () => {
    const before = lab.hosts.map((h) => acceptedConnections(ENG, h.name));
    for (const cmd of ['validate', 'run']) {
      const r = play([cmd, join(FIX, 'broken.yml'), '-i', lab.inventoryPath]);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /broken\.yml:6:7: .*unknown module 'sysctll'/);
      assert.match(r.err, /broken\.yml:\d+:\d+: .*missing required parameter 'src'/);
      assert.match(r.err, /broken\.yml:\d+:\d+: .*undefined variable 'no_such_variable'/);
      assert.doesNotMatch(r.err, /\n\s+at /, 'no stack trace for a user mistake');
    }
    const bad = play(['validate', join(FIX, 'badyaml.yml'), '-i', lab.inventoryPath]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /badyaml\.yml:\d+:\d+: YAML syntax error/);
    assert.deepEqual(lab.hosts.map((h) => acceptedConnections(ENG, h.name)), before, 'no SSH connection was made');
  });

  it('first run changes, second run changes nothing, one SSH connection per host per run', async () => {
    const before = lab.hosts.map((h) => acceptedConnections(ENG, h.name));
    const first = play(['run', join(FIX, 'site.yml'), '-i', lab.inventoryPath]);
    assert.equal(first.code, 0, first.out + first.err);
    assert.match(first.out, /hv1\s+ok=\d+\s+changed=3/);
    for (const h of lab.hosts) {
      assert.match(await hostFile(h.ns, '/etc/play/migration.conf'), new RegExp(`migration_address = ${h.migrationIp.replace(/\./g, '\\.')}`));
      assert.match(await hostFile(h.ns, '/etc/play/settings.ini'), /\[migration\]\nmax_downtime_ms ?= ?300/);
      assert.equal((await sh(h.ns, 'test -e /etc/play/handler-ran && echo yes')).trim(), 'yes', 'the handler ran');
    }
    const after = lab.hosts.map((h) => acceptedConnections(ENG, h.name));
    assert.deepEqual(after.map((n, i) => n - before[i]), [1, 1, 1], 'exactly one connection per host');

    await sh(lab.hosts[0].ns, 'rm -f /etc/play/handler-ran');
    const second = play(['run', join(FIX, 'site.yml'), '-i', lab.inventoryPath, '--detailed-exitcodes']);
    assert.equal(second.code, 0, second.out + second.err);
    assert.match(second.out, /hv1\s+ok=2\s+changed=0/);
    assert.equal((await sh(lab.hosts[0].ns, 'test -e /etc/play/handler-ran && echo yes || echo no')).trim(), 'no', 'handler not notified without a change');
  });

  it('play check names a change made behind our back, exits 2, and changes nothing', async () => {
    const h = lab.hosts[1];
    await sh(h.ns, "sed -i 's/max_downtime_ms = 300/max_downtime_ms = 900/; s/max_downtime_ms=300/max_downtime_ms=900/' /etc/play/settings.ini");
    const tampered = await hostFile(h.ns, '/etc/play/settings.ini');
    const r = play(['check', join(FIX, 'site.yml'), '-i', lab.inventoryPath]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.out, /hv2/);
    assert.match(r.out, /max_downtime_ms.*900.*300/);
    assert.doesNotMatch(r.out, /would change: hv1|would change: hv3/);
    assert.equal(await hostFile(h.ns, '/etc/play/settings.ini'), tampered, 'check mode wrote nothing');
  });

  it('an unreachable host is reported while the others finish; exit 4', async () => {
    await stopHost(ENG, 3);
    try {
      const r = play(['run', join(FIX, 'site.yml'), '-i', lab.inventoryPath]);
      assert.equal(r.code, 4, r.out + r.err);
      assert.match(r.out, /unreachable: hv3/);
      assert.match(r.out, /hv3\s+ok=0\s+changed=0\s+unreachable=1/);
      assert.match(r.out, /hv2\s+ok=2\s+changed=1\s+unreachable=0\s+failed=0/);
    } finally {
      await startHost(ENG, 3);
    }
  });

  it('refuses an unknown host key, naming the host and the fingerprint', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-kh-'));
    const emptyKh = join(dir, 'known_hosts');
    writeFileSync(emptyKh, '');
    const inv = readFileSync(lab.inventoryPath, 'utf8').split(lab.knownHostsPath).join(emptyKh);
    const invPath = join(dir, 'inv.yml');
    writeFileSync(invPath, inv);
    const r = play(['run', join(FIX, 'site.yml'), '-i', invPath, '--limit', 'hv1']);
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.out, /unreachable: hv1/);
    assert.match(r.out, /hv1.*not in .*known_hosts.*SHA256:[A-Za-z0-9+/]{43}/s);
  });
});
