// The KVM lab's pure parts: serial log parser (on a real guest's log), domain XML, libvirt
// configs, guest sizing, tbf arguments.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { QEMU_RAM_PAD_KIB, checkGuestName, checkGuestSizes, defaultWorkingSet, domainXml, initScript, parseSerialLog, qemuWrapperScript } from '../../engine/lab/guest-spec.js';
import { hostUuid, labLibvirtUri, libvirtdConf, qemuConfKeys, withLabQemuConf } from '../../engine/lab/libvirt-config.js';
import { tbfArgs } from '../../engine/lab/link.js';
import { PlayError } from '../../engine/errors.js';

// Lines as a real lab guest printed them (BOOT, RATE, TICK 8-10 and 13 verbatim from a run on hv1;
// the other ticks follow the same format), with ticks 11-12 missing as if output were lost.
const LOG = readFileSync(rootPath('test/fixtures/kvm-lab/serial-migrated.log'), 'utf8');
// A guest that died on the destination ~0.3 s after a live migration under QEMU 7.2 TCG (lost
// dirty pages): verbatim lines from its serial log, registers and call trace left out.
const OOPS = readFileSync(rootPath('test/fixtures/kvm-lab/serial-destination-oops.log'), 'utf8');
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
    assert.deepEqual(parseSerialLog(''), { boots: 0, ticks: [], lastUptime: null, lastRate: null, rateChanges: [], gaps: 0, lastWords: [] });
  });
  it("keeps a dead guest's last words: the kernel's BUG/Oops and panic lines, the init's DIRTIER-EXIT", () => {
    assert.deepEqual(parseSerialLog(OOPS).lastWords, [
      'BUG: kernel NULL pointer dereference, address: 0000000000000038',
      'Oops: 0000 [#1] PREEMPT SMP NOPTI',
      'Kernel panic - not syncing: Attempted to kill the idle task!',
    ]);
    assert.deepEqual(parseSerialLog(`${OOPS}sh: arithmetic syntax error\nPLAY-GUEST DIRTIER-EXIT status=2\n`).lastWords.slice(-1), ['PLAY-GUEST DIRTIER-EXIT status=2']);
    assert.deepEqual(parseSerialLog(LOG).lastWords, []);
  });
});

describe('KVM lab: guest definition', () => {
  const spec = { name: 'busy', memoryMib: 256, dirtyRateMib: 16, workingSetMib: 64, kernel: '/var/cache/play-lab/vmlinuz', initrd: "/tmp/a&b'.gz", serialLog: '/x/busy.serial.log' };
  it('is a TCG domain booting the cached kernel, with the rate on the command line and an appended serial log', () => {
    const xml = domainXml(spec);
    assert.match(xml, /^<domain type='qemu'>/);
    assert.match(xml, /<memory unit='MiB'>256<\/memory>/);
    assert.match(xml, /<cmdline>console=ttyS0 loglevel=5 panic=-1 dirty_ws_mb=64 dirty_rate_mb=16<\/cmdline>/, 'warnings reach the serial log, not only errors');
    assert.match(xml, /<initrd>\/tmp\/a&amp;b&apos;\.gz<\/initrd>/, 'paths are XML-escaped');
    assert.match(xml, /<log file='\/x\/busy\.serial\.log' append='on'\/>/);
    assert.doesNotMatch(xml, /<disk|<interface/, 'nothing but memory to migrate');
    assert.doesNotMatch(xml, /<emulator>/, "without a wrapper: libvirt's own QEMU");
    assert.match(domainXml({ ...spec, emulator: '/var/cache/play-lab/qemu-tcg-x' }), /<devices>\n    <emulator>\/var\/cache\/play-lab\/qemu-tcg-x<\/emulator>\n    <serial/);
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
  it('init never ends silently, and a tick always carries a rate', () => {
    const init = initScript();
    assert.match(init, /^\( dirty \)\necho "PLAY-GUEST DIRTIER-EXIT status=\$\?"\n$/m, 'the dirtier runs in a subshell; init says so if it ever returns');
    assert.match(init, /echo "\$arg" > \/run\/rate\.new && mv \/run\/rate\.new \/run\/rate/, 'the rate file is replaced, never seen empty');
    assert.match(init, /case "\$r" in ''\|\*\[!0-9\]\*\) ;; \*\) rate=\$r ;; esac/, 'a read that is not a number keeps the last rate');
    const sh = spawnSync('sh', ['-n'], { input: init });
    assert.equal(sh.status, 0, `sh -n: ${sh.stderr}`);
  });
});

describe('KVM lab: QEMU wrapper (QEMU 7.2 loses TCG writes during migration for RAM that is a multiple of 256 KiB)', () => {
  let dir = '';
  const run = (...args: string[]): string[] => {
    const r = spawnSync('sh', [join(dir, 'qemu'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').slice(0, -1);
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-qemu-wrapper-'));
    // The "real QEMU" prints its arguments one per line.
    writeFileSync(join(dir, 'args'), '#!/bin/sh\nfor a do printf "%s\\n" "$a"; done\n');
    chmodSync(join(dir, 'args'), 0o755);
    writeFileSync(join(dir, 'qemu'), qemuWrapperScript(join(dir, 'args')));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  it("pads -m and the pc.ram backend by the same 8 KiB, so the block is not a multiple of 256 KiB", () => {
    assert.equal(QEMU_RAM_PAD_KIB, 8);
    const out = run('-name', 'guest=g1,debug-threads=on', '-m', '512', '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":536870912}', '-append', "console=ttyS0  a'b", '');
    assert.deepEqual(out, ['-name', 'guest=g1,debug-threads=on', '-m', '524296k', '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":536879104}', '-append', "console=ttyS0  a'b", '']);
    assert.notEqual((524296 * 1024) % (256 * 1024), 0);
    assert.deepEqual(run('-m', 'size=524288k,slots=4,maxmem=1048576k'), ['-m', 'size=524296k,slots=4,maxmem=1048576k']);
  });
  it('passes everything through unchanged when -m has a form it does not know, and for capability probes', () => {
    const odd = ['-m', '512M', '-object', '{"qom-type":"memory-backend-ram","id":"pc.ram","size":536870912}'];
    assert.deepEqual(run(...odd), odd);
    assert.deepEqual(run('-S', '-no-user-config', '-machine', 'none,accel=tcg', '-qmp', 'unix:/x/sock,server=on,wait=off'), ['-S', '-no-user-config', '-machine', 'none,accel=tcg', '-qmp', 'unix:/x/sock,server=on,wait=off']);
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
