// The reboot module on the lab (lab 'reboot', base octet 38, 2 hosts) through the real CLI.
// A lab host cannot really reboot (it shares the machine's kernel and PID 1): the lab's reboot of
// a host (engine/lab/reboot.ts) is its shutdown/reboot (first on root's PATH inside the host) and
// its lab_reboot_command: its SSH connections are killed, connections are refused for 2 s, sshd
// starts again (a new process) and the host's /proc/sys/kernel/random/boot_id (the module's
// default boot_time_command) reads a new id. What is real: the default reboot command's
// `shutdown -r now MSG`, the detached launch, the dropped connection, refused reconnects, the
// retries, the boot id comparison, test_command and later tasks on the new connection. What is
// not: the kernel and what a boot starts.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acceptedConnections, commandsLog, connectLab, startHost, startLab, stopLab, testLabName, testOctet, type LabInfo } from './lab-fixture.js';
import { play } from './play-cli.js';

const LAB = testLabName('reboot');

const REBOOT_THEN_READ = `- hosts: hypervisors
  gather_facts: false
  tasks:
    - name: boot id before
      command: cat /proc/sys/kernel/random/boot_id
      register: before
      changed_when: false
      check_mode: false
    - name: reboot (the default reboot command)
      reboot:
        reboot_timeout: 60
      register: boot
    - name: boot id after, on the new connection
      command: cat /proc/sys/kernel/random/boot_id
      register: after
      changed_when: false
      check_mode: false
    - assert:
        that:
          - before.stdout != after.stdout
          - boot.rebooted
    - debug:
        msg: "{{ inventory_hostname }} back after {{ boot.elapsed }} s"
`;

const oneReboot = (host: string, command: string) => `- hosts: ${host}
  gather_facts: false
  tasks:
    - reboot:
        reboot_command: ${command}
        reboot_timeout: 3
        connect_timeout: 1
`;

describe('reboot: reboots, reconnects and waits (lab reboot)', function () {
  this.timeout(120_000);
  let lab: LabInfo;
  let dir: string;
  const bootId = (i: number) => readFileSync(join(lab.hosts[i - 1].dir, 'boot_id'), 'utf8').trim();
  const sshdPid = (i: number) => readFileSync(lab.hosts[i - 1].pidFile, 'utf8').trim();
  const runFile = (name: string, text: string, extra: string[] = []) => {
    const file = join(dir, name);
    writeFileSync(file, text);
    return play(['run', file, '-i', lab.inventoryPath, ...extra]);
  };

  before(async () => {
    lab = await startLab({ name: LAB, hosts: 2, octet: testOctet(38) });
    dir = mkdtempSync(join(tmpdir(), 'play-reboot-'));
  });
  after(async () => {
    await stopLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  it("a lab host's shutdown and reboot are the lab's, and each host has its own boot id", async () => {
    // Guard for the tests below, which use the default reboot command: never the machine's.
    const { pool, hosts } = await connectLab(lab);
    try {
      for (const [i, h] of hosts.entries()) {
        const r = await h.run('command -v shutdown; command -v reboot; cat /usr/local/sbin/shutdown; cat /proc/sys/kernel/random/boot_id');
        assert.match(r.stdout, /^\/usr\/local\/sbin\/shutdown\n\/usr\/local\/sbin\/reboot\n/);
        assert.ok(r.stdout.includes(join(lab.dir, 'bin', `hv${i + 1}-reboot`)), r.stdout);
        assert.ok(r.stdout.endsWith(`${bootId(i + 1)}\n`));
      }
    } finally {
      await pool.closeAll();
    }
    assert.notEqual(bootId(1), bootId(2));
    assert.notEqual(bootId(1), readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
  });

  it('check mode says "would reboot" and does nothing', () => {
    const ids = [bootId(1), bootId(2)];
    const pids = [sshdPid(1), sshdPid(2)];
    const conns = [acceptedConnections(LAB, 1), acceptedConnections(LAB, 2)];
    const r = runFile('check.yml', REBOOT_THEN_READ, ['--check']);
    assert.match(r.out, /reboot: would reboot/);
    assert.deepEqual([bootId(1), bootId(2)], ids);
    assert.deepEqual([sshdPid(1), sshdPid(2)], pids, 'sshd was not restarted');
    assert.deepEqual([acceptedConnections(LAB, 1), acceptedConnections(LAB, 2)], conns.map((n) => n + 1), 'one connection per host, no reconnect');
    for (const h of ['hv1', 'hv2']) assert.ok(!commandsLog(LAB, h).some((c) => /shutdown -r|-reboot/.test(c)), 'the reboot command ran in a check');
  });

  it('reboots both hosts with the default command, waits for the new boot, and later tasks run on the new connection', () => {
    const ids = [bootId(1), bootId(2)];
    const pids = [sshdPid(1), sshdPid(2)];
    const conns = [acceptedConnections(LAB, 1), acceptedConnections(LAB, 2)];
    const r = runFile('reboot.yml', REBOOT_THEN_READ, ['-v']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /hv1 +ok=5 +changed=1 .*failed=0/);
    assert.match(r.out, /hv2 +ok=5 +changed=1 .*failed=0/);
    assert.match(r.out, /reboot: rebooted/);
    for (const h of ['hv1', 'hv2']) assert.ok(commandsLog(LAB, h).some((c) => c.includes('shutdown -r now')), 'the default reboot command');
    // The host was down for 2 s: the module saw it refuse connections and waited.
    assert.match(r.out, /not back after \d+ s: hv\d: connection refused/);
    const elapsed = [...r.out.matchAll(/hv\d back after (\d+) s/g)].map((m) => Number(m[1]));
    assert.equal(elapsed.length, 2, r.out);
    for (const s of elapsed) assert.ok(s >= 2 && s < 20, `elapsed ${s} s`);
    for (const i of [1, 2]) {
      assert.notEqual(bootId(i), ids[i - 1], 'a new boot id');
      assert.notEqual(sshdPid(i), pids[i - 1], 'sshd is a new process');
      // The first connection, then at least the one that found the host back.
      assert.ok(acceptedConnections(LAB, i) >= conns[i - 1] + 2);
    }
  });

  it('the connection dropping while the reboot command still runs is a reboot under way, not a failure', () => {
    const id = bootId(1);
    // The lab drops the host's connections 0.5 s in; the command would report after 3 s.
    const r = runFile('drop.yml', oneReboot('hv1', '"{{ lab_reboot_command }}; sleep 3"').replace('reboot_timeout: 3', 'reboot_timeout: 30'), ['-v']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /hv1: the (connection dropped|session was ended) while the reboot started \(expected\)/);
    assert.match(r.out, /reboot: rebooted/);
    assert.notEqual(bootId(1), id);
  });

  it('a host that never comes back fails at reboot_timeout, naming the host and the timeout', async () => {
    const started = Date.now();
    // ignore_errors: the next task finds the host unreachable (the last reconnect failed), not a stale connection.
    const text = `${oneReboot('hv2', '"{{ lab_reboot_command }} never"')}      ignore_errors: true\n    - command: whoami\n`;
    const r = runFile('never.yml', text);
    const took = Date.now() - started;
    assert.notEqual(r.code, 0);
    assert.match(r.out, /reboot: hv2 did not come back within reboot_timeout \(3 s\) after the reboot command; last attempt: hv2: connection refused by 127\.0\.\d+\.12:22/);
    assert.match(r.out, /unreachable: hv2\n\s+hv2: connection refused/);
    assert.match(r.out, /hv2 +ok=0 +changed=0 +unreachable=1 +failed=0 .*ignored=1/);
    assert.ok(took < 15_000, `gave up after ${took} ms`);
    await startHost(LAB, 2);
  });

  it('a reboot command that does nothing times out on the unchanged boot id; a failing one fails at once', () => {
    const same = runFile('noop.yml', oneReboot('hv1', 'true'));
    assert.notEqual(same.code, 0);
    assert.match(same.out, /hv1 did not come back within reboot_timeout \(3 s\).*still the same boot \(boot id [0-9a-f-]+\): the reboot has not happened yet/);
    // A reboot_timeout far above what the run may take: a failed command must not wait for it
    // (a bound of a few seconds would measure the machine's load, not the module).
    const started = Date.now();
    const bad = runFile('bad.yml', oneReboot('hv1', '"echo no power >&2; exit 3"').replace('reboot_timeout: 3', 'reboot_timeout: 300'));
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /the reboot command failed on hv1 \(exit 3\): echo no power >&2; exit 3\n\s*no power/);
    assert.ok(Date.now() - started < 100_000, 'no waiting for reboot_timeout after a failed command');
  });
});
