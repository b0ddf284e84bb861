// The README's first command, `npm run demo` (scripts/demo.ts), on its own lab: twice in a row.
// The first run brings the lab up, tunes it (the handler restarts each host's libvirtd), starts the
// guest and migrates it hv1 → hv2 over TLS; the second finds everything in place, changes nothing
// in the tuning and migrates the guest back. The demo itself fails unless every "nothing changes"
// run exits 0 with --detailed-exitcodes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { guestLocation, guestSerialLog, labDown, labStatus, parseSerialLog } from '../../engine/lab/index.js';
import { rootPath } from '../../engine/paths.js';
import { testLabName, testOctet } from './lab-fixture.js';

const LAB = testLabName('demo');

function demo(): { code: number; out: string } {
  const r = spawnSync(process.execPath, [rootPath('dist', 'scripts', 'demo.js')], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', CI: 'true', PLAY_DEMO_LAB: LAB, PLAY_DEMO_OCTET: String(testOctet(39)) },
    timeout: 240_000,
  });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

describe('npm run demo (scripts/demo.ts)', function () {
  this.timeout(500_000);
  before(() => labDown(LAB));
  after(() => labDown(LAB));

  it('tunes a libvirt lab, migrates a busy guest with its latency record, and a second demo migrates it back', async () => {
    const first = demo();
    assert.equal(first.code, 0, first.out);
    assert.match(first.out, /service libvirtd: restarted/); // the qemu.conf handler, inside each lab host
    assert.match(first.out, /would migrate demo1 from hv1 to hv2 \(0\.50 GiB; estimated/);
    assert.match(first.out, /starting: virsh migrate --live --p2p .*--tls demo1 → hv2/);
    for (const k of ['total time', 'downtime', 'data transferred', 'policy / finished by']) assert.match(first.out, new RegExp(`^  ${k} +\\S`, 'm'));
    assert.match(first.out, /runs on hv2 only; never rebooted/);
    const lab = (await labStatus(LAB)).info!;
    assert.deepEqual(await guestLocation(lab, 'demo1'), ['hv2']);

    const second = demo();
    assert.equal(second.code, 0, second.out);
    assert.match(second.out, /guest demo1 already runs on hv2/);
    assert.doesNotMatch(second.out, /service libvirtd: restarted/);
    assert.match(second.out, /migrated demo1 from hv2 to hv1/);
    assert.deepEqual(await guestLocation(lab, 'demo1'), ['hv1']);
    assert.equal(parseSerialLog(await guestSerialLog(lab, 'demo1')).boots, 1);
  });
});
