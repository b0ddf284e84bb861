import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { factsFromOutput, gatherFacts } from '../../engine/facts/gather.js';
import { markedScript, parseLibvirtDaemon, parseMarked, parseOsRelease } from '../../engine/facts/parse.js';
import { LocalHost } from '../../engine/connection/local.js';

const fx = (name: string) => readFileSync(rootPath('test/fixtures/facts', name), 'utf8');

describe('marked sections', () => {
  it('come back exact, with or without a final newline, and keep exit codes', async () => {
    const out = await new LocalHost('local').run(markedScript([
      { name: 'a', cmd: "printf 'x\\n\\n'" },
      { name: 'b', cmd: "printf 'y'" },
      { name: 'c', cmd: 'true' },
      { name: 'd', cmd: 'echo oops >&2; exit 3' },
    ]).replace('exit 3', '(exit 3)'));
    assert.deepEqual(parseMarked(out.stdout), { a: { text: 'x\n\n', rc: 0 }, b: { text: 'y', rc: 0 }, c: { text: '', rc: 0 }, d: { text: 'oops\n', rc: 3 } });
  });
});

describe('facts (captured on this Debian 12 machine, in a namespace, and a hypervisor reference sample)', () => {
  it('inside a lab namespace: veth driver, no default route, no libvirt', () => {
    const f = factsFromOutput(fx('debian12-netns-veth.out'));
    assert.equal(f.kernel, '6.18.44-fc-v657');
    assert.deepEqual(f.os, { distribution: 'Debian', version: '12', id: 'debian', codename: 'bookworm', pretty_name: 'Debian GNU/Linux 12 (bookworm)' });
    assert.equal(f.cpu?.model, 'AMD EPYC');
    assert.equal(f.cpu?.count, 2);
    assert.ok(f.cpu?.flags.includes('hypervisor') && f.cpu.flags.includes('avx2') && !f.cpu.flags.includes('vmx'));
    assert.equal(f.memory_total_bytes, 24684092 * 1024);
    assert.deepEqual(f.interfaces.eth1, {
      name: 'eth1', mtu: 1500, state: 'UP', mac: 'ce:9e:69:fb:2f:56', driver: 'veth',
      addresses: [{ family: 'inet', address: '198.18.99.1', prefixlen: 24 }, { family: 'inet6', address: 'fe80::cc9e:69ff:fefb:2f56', prefixlen: 64 }],
    });
    assert.equal(f.interfaces.lo.mac, null);
    assert.equal(f.interfaces.lo.driver, null);
    assert.equal(f.default_ipv4, null);
    assert.equal(f.qemu_version, null);
    assert.equal(f.libvirt_version, null);
    assert.equal(f.libvirt_daemon, null);
    assert.equal(f.libvirt_daemon_running, false);
    assert.equal(f.systemd, false);
  });
  it('the root namespace: virtio_net driver from sysfs, default route', () => {
    const f = factsFromOutput(fx('debian12-root-ns.out'));
    assert.equal(f.interfaces.eth0.driver, 'virtio_net');
    assert.deepEqual(f.default_ipv4, { interface: 'eth0', gateway: '192.0.2.1', address: '192.0.2.2' });
  });
  it('a hypervisor running libvirtd (reference sample)', () => {
    const f = factsFromOutput(fx('hypervisor-libvirtd-reference.out'));
    assert.equal(f.qemu_version, '7.2.19');
    assert.equal(f.libvirt_version, '9.0.0');
    assert.equal(f.libvirt_daemon, 'libvirtd');
    assert.equal(f.libvirt_daemon_running, true);
    assert.equal(f.systemd, true);
  });
  it('decides the libvirt daemon from sockets, then systemd, then binaries', () => {
    const d = (lines: string) => parseLibvirtDaemon(lines.split(' ').join(' yes\n') + ' yes\n');
    assert.deepEqual(d('sock-virtqemud sock-libvirtd'), { daemon: 'virtqemud', running: true });
    assert.deepEqual(d('service-virtqemud service-libvirtd enabled-virtqemud'), { daemon: 'virtqemud', running: false });
    assert.deepEqual(d('service-virtqemud service-libvirtd'), { daemon: 'libvirtd', running: false });
    assert.deepEqual(d('service-virtqemud'), { daemon: 'virtqemud', running: false });
    assert.deepEqual(parseLibvirtDaemon(''), { daemon: null, running: false });
  });
  it('os-release quoting and unknown distributions', () => {
    assert.deepEqual(parseOsRelease("ID='arch'\nNAME=\"Arch \\\"Linux\\\"\"\n"), { distribution: 'Arch "Linux"', version: null, id: 'arch', codename: null, pretty_name: null });
  });
  it('missing sections and broken output give nulls, not a crash', () => {
    const f = factsFromOutput('@@play kernel@@\n6.1.0\n@@play-rc 0@@\n@@play addr@@\nnot json\n@@play-rc 0@@\n');
    assert.equal(f.kernel, '6.1.0');
    assert.deepEqual(f.interfaces, {});
    assert.equal(f.os, null);
    assert.equal(f.cpu, null);
  });
  it('gathers for real on this machine in one round trip', async () => {
    const host = new LocalHost('local');
    let calls = 0;
    const counting = { ...host, name: 'local', run: (c: string, o?: object) => (calls++, host.run(c, o)), runBytes: host.runBytes.bind(host), readFile: host.readFile.bind(host), writeFile: host.writeFile.bind(host), close: async () => {} };
    const f = await gatherFacts(counting);
    assert.equal(calls, 1);
    assert.ok(f.kernel && f.hostname && f.cpu && f.cpu.count >= 1 && f.interfaces.lo);
  });
});
