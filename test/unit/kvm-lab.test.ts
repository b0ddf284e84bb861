// The KVM lab's pure parts: serial log parser (on a real guest's log), domain XML, libvirt
// configs, guest sizing, tbf arguments.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { checkGuestName, checkGuestSizes, defaultWorkingSet, domainXml, initScript, parseSerialLog } from '../../engine/lab/guest-spec.js';
import { hostUuid, labLibvirtUri, libvirtdConf, qemuConfKeys, withLabQemuConf } from '../../engine/lab/libvirt-config.js';
import { tbfArgs } from '../../engine/lab/link.js';
import { PlayError } from '../../engine/errors.js';

// Lines as a real lab guest printed them (BOOT, RATE, TICK 8-10 and 13 verbatim from a run on hv1;
// the other ticks follow the same format), with ticks 11-12 missing as if output were lost.
const LOG = readFileSync(rootPath('test/fixtures/kvm-lab/serial-migrated.log'), 'utf8');
const DEBIAN_QEMU = readFileSync(rootPath('test/fixtures/qemu_conf/debian12-qemu.conf'), 'utf8');

describe('KVM lab: serial log parser', () => {
  it('counts boots, ticks, rate changes and gaps in a real log', () => {
    const s = parseSerialLog(LOG);
    assert.equal(s.boots, 1);
    assert.deepEqual(s.ticks, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13]);
    assert.equal(s.gaps, 1, 'ticks 11 and 12 are missing');
    assert.deepEqual(s.rateChanges, [32]);
    assert.equal(s.lastRate, 32);
    assert.equal(s.lastUptime, 16.36);
  });
  it('sees a second boot (a restarted guest) and CRLF lines', () => {
    const s = parseSerialLog(`${LOG}PLAY-GUEST BOOT ws_mb=64 rate_mb=16\r\nPLAY-GUEST TICK 1 up=2.1 rate_mb=16 pass=0\r\n`);
    assert.equal(s.boots, 2);
    assert.equal(s.gaps, 2);
    assert.equal(s.lastUptime, 2.1);
  });
  it('an empty log: no boot, no tick', () => {
    assert.deepEqual(parseSerialLog(''), { boots: 0, ticks: [], lastUptime: null, lastRate: null, rateChanges: [], gaps: 0 });
  });
});

describe('KVM lab: guest definition', () => {
  const spec = { name: 'busy', memoryMib: 256, dirtyRateMib: 16, workingSetMib: 64, kernel: '/var/cache/play-lab/vmlinuz', initrd: "/tmp/a&b'.gz", serialLog: '/x/busy.serial.log' };
  it('is a TCG domain booting the cached kernel, with the rate on the command line and an appended serial log', () => {
    const xml = domainXml(spec);
    assert.match(xml, /^<domain type='qemu'>/);
    assert.match(xml, /<memory unit='MiB'>256<\/memory>/);
    assert.match(xml, /<cmdline>console=ttyS0 quiet panic=-1 dirty_ws_mb=64 dirty_rate_mb=16<\/cmdline>/);
    assert.match(xml, /<initrd>\/tmp\/a&amp;b&apos;\.gz<\/initrd>/, 'paths are XML-escaped');
    assert.match(xml, /<log file='\/x\/busy\.serial\.log' append='on'\/>/);
    assert.doesNotMatch(xml, /<disk|<interface/, 'nothing but memory to migrate');
  });
  it('refuses names and sizes that cannot work, before any host is touched', () => {
    assert.throws(() => checkGuestName("a'b"), PlayError);
    assert.throws(() => domainXml({ ...spec, name: '../x' }), /invalid guest name/);
    assert.throws(() => checkGuestSizes(128, 16, 64), /does not fit a 128 MiB guest/);
    assert.throws(() => checkGuestSizes(256, -1, 64), /invalid dirty rate/);
    checkGuestSizes(256, 16, 64);
    assert.equal(defaultWorkingSet(256), 64);
    assert.equal(defaultWorkingSet(128), 23); // 23 + 24 + 80 = 127
  });
  it('the dirtier writes new content: a window sliding one page per pass, and it keeps its tmpfs under /run', () => {
    const init = initScript();
    assert.match(init, /mount -t tmpfs -o size=95% tmpfs \/run/);
    assert.match(init, /s=\$\(\( \(t \+ pass\) % \(srcp - c\) \)\)/);
    assert.match(init, /< \/dev\/ttyS0 &/);
  });
});

describe('KVM lab: libvirt configuration', () => {
  it('host_uuid: stable, distinct per host, RFC 4122 shaped', () => {
    const a = hostUuid('lab', 'hv1');
    assert.equal(a, hostUuid('lab', 'hv1'));
    assert.notEqual(a, hostUuid('lab', 'hv2'));
    assert.notEqual(a, hostUuid('lab2', 'hv1'));
    assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
  it('libvirtd listens for TLS on the eth1 address only', () => {
    const c = libvirtdConf('lab', 'hv2', '198.18.10.2');
    assert.match(c, /^listen_tls = 1$/m);
    assert.match(c, /^listen_tcp = 0$/m);
    assert.match(c, /^listen_addr = "198\.18\.10\.2"$/m);
  });
  it("qemu.conf: the lab block is added to Debian's stock file once, never duplicating a key the file sets", () => {
    const once = withLabQemuConf(DEBIAN_QEMU, '198.18.10.1');
    assert.ok(once.startsWith(DEBIAN_QEMU.replace(/\n*$/, '\n')));
    assert.match(once, /^migration_host = "198\.18\.10\.1"$/m);
    assert.match(once, /^user = "root"$/m);
    assert.equal(withLabQemuConf(once, '198.18.10.1'), once);
    const tuned = withLabQemuConf('migration_port_min = 50000\n', '198.18.10.1');
    assert.equal(tuned.match(/^migration_port_min/gm)?.length, 1);
    assert.ok(qemuConfKeys(tuned).has('migration_port_max'));
  });
  it('the migration control URI: qemu+tls on the address, client certificates from pkipath', () => {
    assert.equal(labLibvirtUri('198.18.10.2'), 'qemu+tls://198.18.10.2/system?pkipath=/etc/pki/libvirt-client');
    assert.throws(() => labLibvirtUri('hv2; rm -rf /'));
  });
  it('tbf arguments for a link rate', () => {
    assert.deepEqual(tbfArgs(80), ['rate', '80mbit', 'burst', '64kb', 'latency', '400ms']);
    assert.deepEqual(tbfArgs(1000), ['rate', '1000mbit', 'burst', '125kb', 'latency', '400ms']);
    assert.throws(() => tbfArgs(0), /invalid link rate/);
  });
});
