// The lab itself: real namespaces, real sshd, checked with the real OpenSSH client.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { connect } from 'node:net';
import yaml from 'js-yaml';
import { labCommand, labStatus, labUp } from '../../engine/lab/index.js';
import { testLabName, testOctet, acceptedConnections, commandsLog, nsExec, startHost, startLab, stopHost, stopLab, type LabInfo } from './lab-fixture.js';

const NAME = testLabName('labt');
const OCTET = testOctet(30);
const DECOY = `play-${NAME}x-hv1`; // a longer name with our prefix: down must not touch it

function ssh(lab: LabInfo, i: number, command: string): Promise<{ stdout: string; code: number }> {
  const h = lab.hosts[i - 1];
  const args = ['-i', lab.keyPath, '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', '-p', String(h.port), `root@${h.address}`, command];
  return new Promise((resolve) => {
    execFile('ssh', args, { encoding: 'utf8' }, (err, stdout) => resolve({ stdout, code: err ? Number(err.code) : 0 }));
  });
}

function tcpProbe(address: string, port: number): Promise<'open' | string> {
  return new Promise((resolve) => {
    const s = connect({ host: address, port });
    s.on('connect', () => (s.destroy(), resolve('open')));
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
}

const netnsList = async (): Promise<string[]> => (JSON.parse((await nsList()) || '[]') as Array<{ name: string }>).map((n) => n.name);
const nsList = (): Promise<string> => new Promise((r) => execFile('ip', ['-j', 'netns', 'list'], { encoding: 'utf8' }, (_e, out) => r(out.trim())));
const sshdPid = (lab: LabInfo, i: number): number => Number(readFileSync(lab.hosts[i - 1].pidFile, 'utf8'));

describe('lab (integration)', function () {
  this.timeout(60_000);
  let lab: LabInfo;

  before(async () => {
    await new Promise((r) => execFile('ip', ['netns', 'del', DECOY], r));
    lab = await startLab({ name: NAME, hosts: 3, octet: OCTET });
  });
  after(async () => {
    await stopLab(NAME);
    await new Promise((r) => execFile('ip', ['netns', 'del', DECOY], r));
    await rm(`/etc/netns/${DECOY}`, { recursive: true, force: true });
  });

  it('runs each SSH session inside its host namespace, with eth1 on the lab network', async () => {
    const r = await ssh(lab, 2, 'ip -j addr show dev eth1; exit 3');
    assert.equal(r.code, 3, 'exit code propagates through the ForceCommand wrapper');
    const addrs = (JSON.parse(r.stdout) as Array<{ addr_info: Array<{ local: string; family: string }> }>)[0].addr_info;
    assert.ok(addrs.some((a) => a.family === 'inet' && a.local === `198.18.${OCTET}.2`));
    assert.deepEqual(commandsLog(NAME, 'hv2').slice(-1), ['ip -j addr show dev eth1; exit 3']);
    assert.equal(acceptedConnections(NAME, 'hv2'), 1);
  });

  it('logs multi-line commands as one entry, byte-exact', async () => {
    const cmd = 'printf "%s\\n" a\\\\b\necho two';
    const r = await ssh(lab, 1, cmd);
    assert.equal(r.stdout, 'a\\b\ntwo\n');
    assert.equal(commandsLog(NAME, 1).at(-1), cmd);
  });

  it('links the hosts through a switch whose ports do not limit the MTU', async () => {
    const [h1, h3] = [lab.hosts[0], lab.hosts[2]];
    await nsExec(h1.ns, `ping -c 1 -W 2 ${h3.migrationIp}`);
    const small = await nsExec(h1.ns, `ip link set dev eth1 mtu 9000; ping -M do -s 8972 -c 1 -W 1 ${h3.migrationIp}`, { check: false });
    assert.notEqual(small.code, 0, 'the peer is still at 1500');
    await nsExec(h3.ns, 'ip link set dev eth1 mtu 9000');
    await nsExec(h1.ns, `ping -M do -s 8972 -c 1 -W 2 ${h3.migrationIp}`);
  });

  it('gives each host its own /etc overlays', async () => {
    await nsExec(lab.hosts[0].ns, 'echo one > /etc/play/marker');
    const other = await nsExec(lab.hosts[1].ns, 'cat /etc/play/marker', { check: false });
    assert.notEqual(other.code, 0);
    assert.equal(readFileSync(`/etc/netns/${lab.hosts[0].ns}/play/marker`, 'utf8'), 'one\n');
    assert.equal(existsSync('/etc/play/marker'), false, 'the machine /etc is untouched');
  });

  it('writes an Ansible-style inventory and a known_hosts with every host key', () => {
    const inv = yaml.load(readFileSync(lab.inventoryPath, 'utf8')) as any;
    const group = inv.all.children.hypervisors;
    assert.deepEqual(Object.keys(group.hosts), ['hv1', 'hv2', 'hv3']);
    assert.deepEqual(group.hosts.hv3, {
      ansible_host: `127.0.${OCTET}.13`, ansible_port: 22, ansible_user: 'root', ansible_ssh_private_key_file: lab.keyPath,
      migration_ip: `198.18.${OCTET}.3`, migration_iface: 'eth1', lab_reboot_command: join(lab.dir, 'bin', 'hv3-reboot'),
    });
    assert.equal(group.vars.play_known_hosts_file, lab.knownHostsPath);
    assert.match(group.vars.ansible_ssh_common_args, /UserKnownHostsFile=\S+known_hosts -o StrictHostKeyChecking=yes/);
    assert.equal(group.vars.lab_octet, OCTET);
    const known = readFileSync(lab.knownHostsPath, 'utf8').trim().split('\n');
    assert.deepEqual(known.map((l) => l.split(' ')[0]), lab.hosts.map((h) => h.address));
  });

  it('up again changes nothing: same sshd processes, same host keys', async () => {
    const pids = [1, 2, 3].map((i) => sshdPid(lab, i));
    const known = readFileSync(lab.knownHostsPath, 'utf8');
    await labUp({ name: NAME, hosts: 3, octet: OCTET });
    assert.deepEqual([1, 2, 3].map((i) => sshdPid(lab, i)), pids);
    assert.equal(readFileSync(lab.knownHostsPath, 'utf8'), known);
  });

  it('up repairs leftovers of a crashed run without killing a stranger named in a PID file', async () => {
    process.kill(sshdPid(lab, 2), 'SIGKILL'); // hv2: stale PID file, no sshd
    await nsExec(lab.hosts[2].ns, 'ip link del eth1'); // hv3: namespace without its link
    writeFileSync(lab.hosts[0].pidFile, `${process.pid}\n`); // hv1: PID file naming this test process
    await labUp({ name: NAME, hosts: 3, octet: OCTET });
    const s = await labStatus(NAME);
    assert.deepEqual(s.hosts.map((h) => h.netns && h.sshdPid !== null), [true, true, true]);
    for (const i of [1, 2, 3]) assert.equal((await ssh(lab, i, 'echo ok')).stdout, 'ok\n');
    await nsExec(lab.hosts[0].ns, `ping -c 1 -W 2 ${lab.hosts[2].migrationIp}`);
  });

  it('stopHost refuses new connections; startHost brings the host back', async () => {
    await stopHost(NAME, 2);
    assert.equal(await tcpProbe(lab.hosts[1].address, 22), 'ECONNREFUSED');
    let lines: string[] = [];
    assert.equal(await labCommand('status', { name: NAME }, (l) => lines.push(l)), 1);
    assert.match(lines.join('\n'), /hv2 .* sshd stopped/);
    await startHost(NAME, 2);
    assert.equal((await ssh(lab, 2, 'echo back')).stdout, 'back\n');
    lines = [];
    assert.equal(await labCommand('status', { name: NAME }, (l) => lines.push(l)), 0);
    assert.match(lines[0], /3\/3 hosts up/);
  });

  it('down removes everything it made and nothing else', async () => {
    await new Promise((r) => execFile('ip', ['netns', 'add', DECOY], r));
    await mkdir(`/etc/netns/${DECOY}/play`, { recursive: true });
    const lines: string[] = [];
    assert.equal(await labCommand('down', { name: NAME }, (l) => lines.push(l)), 0);
    const left = await netnsList();
    assert.deepEqual(left.filter((n) => n.startsWith(`play-${NAME}-`)), []);
    assert.ok(left.includes(DECOY));
    assert.ok(existsSync(`/etc/netns/${DECOY}/play`));
    for (const h of lab.hosts) {
      assert.equal(existsSync(`/etc/netns/${h.ns}`), false);
      assert.equal(await tcpProbe(h.address, 22), 'ECONNREFUSED');
    }
    assert.equal(existsSync(lab.dir), false);
    for (const d of ['/etc/play', '/etc/sysctl.d', '/etc/libvirt', '/etc/nftables.d', '/etc/init.d']) assert.ok(existsSync(d), `${d} mount point stays`);
    assert.equal((await labStatus(NAME)).exists, false);
  });
});
