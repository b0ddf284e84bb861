// playbooks/cluster-tune.yml on 3 real lab hosts through the CLI (lab 'ct'): the whole seed recipe.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { play } from './play-cli.js';
import { testLabName, testOctet, startLab, stopLab, nsExec, commandsLog, type LabInfo } from './lab-fixture.js';

const CT = testLabName('ct');
const MACHINE_SOCKET = '/run/libvirt/libvirt-sock';

/**
 * Runs fn while the machine itself looks like it runs libvirtd (issue 13): Debian's libvirt
 * packages are installed by the suite's set-up, and here a listening socket at the machine's
 * libvirt-sock, unless a real one is there. Removes only what it made.
 */
async function whileMachineRunsLibvirtd<T>(fn: () => Promise<T>): Promise<T> {
  if (existsSync(MACHINE_SOCKET)) return fn();
  const madeDir = !existsSync('/run/libvirt');
  if (madeDir) mkdirSync('/run/libvirt');
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(MACHINE_SOCKET, resolve));
  try {
    return await fn();
  } finally {
    await new Promise((resolve) => server.close(resolve));
    rmSync(MACHINE_SOCKET, { force: true });
    if (madeDir) rmdirSync('/run/libvirt');
  }
}

describe('cluster-tune.yml on the lab (ct)', function () {
  this.timeout(180_000);
  let lab: LabInfo;
  before(async () => {
    lab = await startLab({ name: CT, hosts: 3, octet: testOctet(31) });
  });
  after(async () => {
    await stopLab(CT);
  });

  it('a plain lab host runs no libvirt daemon of its own, even where the machine runs one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-ct-'));
    try {
      writeFileSync(join(dir, 'facts.yml'), [
        '- hosts: hypervisors',
        '  gather_facts: true',
        '  tasks:',
        '    - assert:',
        '        that:',
        '          - facts.libvirt_daemon == None',
        '          - not facts.libvirt_daemon_running',
        '',
      ].join('\n'));
      const r = await whileMachineRunsLibvirtd(async () => play(['run', join(dir, 'facts.yml'), '-i', lab.inventoryPath]));
      assert.equal(r.code, 0, r.out + r.err);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tunes every host, then finds nothing to change', async () => {
    // tcp_rmem is a minimum: each field raised to 4096 87380 16777216 where lower, kept where the
    // kernel's default is bigger (its maximum is 32 MiB on a large-memory host).
    const rmem = async (ns: string) => (await nsExec(ns, 'sysctl -n net.ipv4.tcp_rmem')).stdout.trim().split(/\s+/).map(Number);
    const expectedRmem = new Map<string, string>();
    for (const h of lab.hosts) expectedRmem.set(h.ns, (await rmem(h.ns)).map((v, i) => Math.max(v, [4096, 87380, 16777216][i])).join(' '));
    const HOSTS = ['hv1', 'hv2', 'hv3'];
    const execs = async (run: () => Promise<ReturnType<typeof play>> | ReturnType<typeof play>) => {
      const before = HOSTS.map((h) => commandsLog(CT, h).length);
      const r = await run();
      return { r, sent: HOSTS.map((h, i) => commandsLog(CT, h).slice(before[i])) };
    };
    // The qemu.conf change notifies "restart libvirt": a plain lab host has no libvirtd to restart.
    const { r: first, sent: firstSent } = await execs(() => whileMachineRunsLibvirtd(async () => play(['run', 'cluster-tune.yml', '-i', lab.inventoryPath])));
    assert.equal(first.code, 0, first.out + first.err);
    const handler = first.out.slice(first.out.indexOf('HANDLER [restart libvirt]'));
    for (const h of HOSTS) assert.match(handler, new RegExp(`^  skipped: ${h}$`, 'm'));
    for (const h of HOSTS) assert.match(first.out, new RegExp(`${h}\\s+ok=\\d+\\s+changed=[1-9]`));
    // A first run costs, per host: the facts, one batch of every task's read, one exec per task that
    // changed (its apply, its convergence re-read and the next tasks' reads together: apply-steps.ts),
    // and the path-MTU pings, which must wait until every host has its new MTU.
    HOSTS.forEach((h, i) => {
      const changed = Number(new RegExp(`${h}\\s+ok=\\d+\\s+changed=(\\d+)`).exec(first.out)![1]);
      assert.ok(firstSent[i].length <= 2 + changed + 1, `${h}: ${firstSent[i].length} execs for ${changed} changed tasks:\n${firstSent[i].join('\n---\n')}`);
    });
    for (const h of lab.hosts) {
      const mtu = (await nsExec(h.ns, 'cat /sys/class/net/eth1/mtu')).stdout.trim();
      assert.equal(mtu, '9000');
      assert.equal((await rmem(h.ns)).join(' '), expectedRmem.get(h.ns));
      assert.match((await nsExec(h.ns, 'cat /etc/sysctl.d/90-live-migration.conf')).stdout, new RegExp(`^net\\.ipv4\\.tcp_rmem = ${expectedRmem.get(h.ns)}$`, 'm'));
      assert.match((await nsExec(h.ns, 'cat /etc/libvirt/qemu.conf')).stdout, /^migrate_tls_force = 1$/m);
      assert.match((await nsExec(h.ns, 'nft list table inet live_migration')).stdout, /49152-49215/);
    }
    const { r: second, sent: secondSent } = await execs(() => play(['run', 'cluster-tune.yml', '-i', lab.inventoryPath, '--detailed-exitcodes']));
    assert.equal(second.code, 0, second.out + second.err);
    for (const h of HOSTS) assert.match(second.out, new RegExp(`${h}\\s+ok=\\d+\\s+changed=0`));
    // An idempotent re-run costs what a check costs: the facts, then every read in one exec (the
    // path-MTU pings included: nothing was applied anywhere, so they are current).
    for (const cmds of secondSent) assert.equal(cmds.length, 2, cmds.join('\n---\n'));
    // A drift check costs 2 round trips per host, counted on the hosts' sshd: the facts, then the
    // reads of all eight tasks in one exec (batch-reads.ts), qemu_conf's certificates included.
    const before = ['hv1', 'hv2', 'hv3'].map((h) => commandsLog(CT, h).length);
    const check = play(['check', 'cluster-tune.yml', '-i', lab.inventoryPath]);
    assert.equal(check.code, 0, check.out + check.err);
    const sent = ['hv1', 'hv2', 'hv3'].map((h, i) => commandsLog(CT, h).slice(before[i]));
    for (const cmds of sent) assert.equal(cmds.length, 2, cmds.join('\n---\n'));
  });

  it('fails path verification towards a peer whose eth1 is at MTU 1500', async () => {
    await nsExec(lab.hosts[2].ns, 'ip link set dev eth1 mtu 1500');
    try {
      const r = play(['check', 'cluster-tune.yml', '-i', lab.inventoryPath, '--tags', 'network']);
      assert.equal(r.code, 6, r.out + r.err); // hv3 drifted (1500 → 9000) and its peers' verification failed
      assert.match(r.out, new RegExp(`path MTU to ${lab.hosts[2].migrationIp.replace(/\./g, '\\.')} is below 9000 \\(a hop drops 8972-byte frames\\)`));
      assert.match(r.out, /hv3[\s\S]*eth1 mtu.*1500.*9000/);
    } finally {
      await nsExec(lab.hosts[2].ns, 'ip link set dev eth1 mtu 9000');
    }
  });
});
