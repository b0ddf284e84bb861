// The SSH transport against real lab hosts (lab 'ssh', octet 21): exec, files, host keys,
// channel fan-out on one connection, become, ProxyJump, unreachable hosts.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionPool } from '../../engine/connection/pool.js';
import { ConnectionError, HostKeyError, TimeoutError } from '../../engine/errors.js';
import { testLabName, testOctet, acceptedConnections, commandsLog, nsExec, startHost, startLab, stopHost, stopLab, type LabInfo } from './lab-fixture.js';

const LAB = testLabName('ssh');
const USER = 'playsshtest'; // a non-root login for sudo with a password; removed in after()
const SUDOERS = `/etc/sudoers.d/${USER}`;

const fp = (pubFile: string): string => execFileSync('ssh-keygen', ['-lf', pubFile], { encoding: 'utf8' }).split(' ')[1];

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

function removeTestUser(): void {
  rmSync(SUDOERS, { force: true });
  try {
    execFileSync('userdel', [USER], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
}

describe('ssh transport (integration)', function () {
  this.timeout(60_000);
  let lab: LabInfo;
  let tmp: string;
  const pools: ConnectionPool[] = [];
  const pool = (opts: ConstructorParameters<typeof ConnectionPool>[0] = {}) => {
    const p = new ConnectionPool({ onWarning: () => {}, ...opts });
    pools.push(p);
    return p;
  };
  const vars = (i: number, extra: Record<string, unknown> = {}) => ({
    ansible_host: lab.hosts[i - 1].address,
    ansible_port: 22,
    ansible_user: 'root',
    ansible_ssh_private_key_file: lab.keyPath,
    play_known_hosts_file: lab.knownHostsPath,
    ...extra,
  });

  /** USER with this password, asked by sudo for any command; the lab's login wrapper without (it enters the namespace). */
  const addTestUser = (password: string) => {
    // userdel refuses while an earlier test's pooled session still runs as USER: keep the user then.
    if (spawnSync('id', [USER], { stdio: 'ignore' }).status !== 0) execFileSync('useradd', ['-M', '-d', '/nonexistent', '-s', '/bin/sh', USER]);
    execFileSync('chpasswd', [], { input: `${USER}:${password}\n` });
    writeFileSync(SUDOERS, `${USER} ALL=(ALL) PASSWD: ALL\n${USER} ALL=(root) NOPASSWD: ${lab.dir}/bin/hv2\n`, { mode: 0o440 });
  };

  before(async () => {
    removeTestUser();
    lab = await startLab({ name: LAB, hosts: 3, octet: testOctet(21) });
    tmp = mkdtempSync(join(tmpdir(), 'play-ssh-test-'));
  });
  after(async () => {
    for (const p of pools) await p.closeAll();
    removeTestUser();
    rmSync(tmp, { recursive: true, force: true });
    await stopLab(LAB);
  });

  it('runs commands with exit codes, stdout, stderr and stdin', async () => {
    const h = await pool().get('hv1', vars(1));
    assert.deepEqual(await h.run('echo out; echo err >&2; exit 3'), { stdout: 'out\n', stderr: 'err\n', code: 3, signal: null });
    assert.equal((await h.run('cat', { stdin: 'fed\n' })).stdout, 'fed\n');
    const killed = await h.run('kill -TERM $$');
    assert.equal(killed.code, null);
    assert.equal(killed.signal, 'SIGTERM');
  });

  it('runs inside the host namespace: eth1 carries the migration address', async () => {
    const h = await pool().get('hv2', vars(2));
    const links = JSON.parse((await h.run('ip -j addr show dev eth1')).stdout) as Array<{ addr_info: Array<{ local: string }> }>;
    assert.ok(links[0].addr_info.some((a) => a.local === lab.hosts[1].migrationIp));
    assert.equal(commandsLog(LAB, 'hv2').at(-1), 'LC_ALL=C; export LC_ALL; ip -j addr show dev eth1');
  });

  it('writes files atomically into the host /etc overlay: byte-exact, mode kept, backup made', async () => {
    const h = await pool().get('hv1', vars(1));
    const path = '/etc/play/ssh-test.bin';
    await nsExec(lab.hosts[0].ns, `rm -f ${path} ${path}.*; printf old > ${path}; chmod 0640 ${path}`);
    const data = Buffer.concat([randomBytes(70_000), Buffer.from([0, 10, 13, 255, 39, 92])]);
    const r = await h.writeFile(path, data, { backup: true });
    assert.ok(r.backupPath?.startsWith(`${path}.`));
    assert.deepEqual(await h.readFile(path), data);
    assert.equal(await h.readFile('/etc/play/does-not-exist'), null);
    const overlay = `/etc/netns/${lab.hosts[0].ns}/play/ssh-test.bin`;
    assert.deepEqual(readFileSync(overlay), data, 'the write landed in the host overlay');
    assert.equal(existsSync('/etc/play/ssh-test.bin'), false, 'not in the machine /etc');
    assert.equal((await nsExec(lab.hosts[0].ns, `stat -c %a ${path}`)).stdout.trim(), '640');
    assert.equal((await nsExec(lab.hosts[0].ns, `cat ${r.backupPath}`)).stdout, 'old');
    assert.equal((await nsExec(lab.hosts[0].ns, `ls -a /etc/play | grep -c play-tmp || true`)).stdout.trim(), '0', 'no temp file left');
  });

  it('refuses an unknown host key, naming the host and its SHA256 fingerprint', async () => {
    const empty = join(tmp, 'empty_known_hosts');
    writeFileSync(empty, '');
    const e = await rejection(pool().get('hv2', vars(2, { play_known_hosts_file: empty })));
    assert.ok(e instanceof HostKeyError, String(e));
    const want = fp(join(lab.hosts[1].dir, 'ssh_host_ed25519_key.pub'));
    assert.match(e.message, new RegExp(`^host key for hv2 \\(127\\.0\\.${testOctet(21)}\\.12:22\\) is not in .*empty_known_hosts: ED25519 key SHA256:`));
    assert.ok(e.message.includes(want), `${e.message} should name ${want}`);
    assert.equal(readFileSync(empty, 'utf8'), '', 'strict checking writes nothing');
  });

  it('refuses a changed host key, naming the expected and the offered fingerprint', async () => {
    const wrong = join(tmp, 'wrong_known_hosts');
    const hv1Key = readFileSync(join(lab.hosts[0].dir, 'ssh_host_ed25519_key.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    writeFileSync(wrong, `${lab.hosts[1].address} ${hv1Key}\n`);
    const e = await rejection(pool().get('hv2', vars(2, { play_known_hosts_file: wrong })));
    assert.ok(e instanceof HostKeyError, String(e));
    assert.match(e.message, /HOST KEY CHANGED for hv2/);
    assert.ok(e.message.includes(fp(join(lab.hosts[0].dir, 'ssh_host_ed25519_key.pub'))), 'expected fingerprint');
    assert.ok(e.message.includes(fp(join(lab.hosts[1].dir, 'ssh_host_ed25519_key.pub'))), 'offered fingerprint');
  });

  it('accept-new records a new key, after which strict checking passes', async () => {
    const file = join(tmp, 'accept_known_hosts');
    writeFileSync(file, `# existing content stays\n${readFileSync(lab.knownHostsPath, 'utf8').split('\n')[0]}`); // no final newline
    const notes: string[] = [];
    const h = await pool({ onWarning: (_h, m) => notes.push(m) }).get('hv3', vars(3, { play_known_hosts_file: file, host_key_checking: 'accept-new' }));
    assert.equal((await h.run('echo hi')).stdout, 'hi\n');
    const lines = readFileSync(file, 'utf8').split('\n');
    assert.equal(lines[0], '# existing content stays');
    assert.equal(lines[2], readFileSync(lab.knownHostsPath, 'utf8').split('\n')[2], 'the same line OpenSSH would have');
    assert.match(notes.join('\n'), /added ED25519 key SHA256:\S+ for hv3/);
    const again = await pool().get('hv3', vars(3, { play_known_hosts_file: file }));
    assert.equal((await again.run('echo again')).stdout, 'again\n');
  });

  it('runs 50 commands in parallel on one connection', async () => {
    const before = acceptedConnections(LAB, 'hv3');
    const p = pool();
    const hosts = await Promise.all(Array.from({ length: 5 }, () => p.get('hv3', vars(3))));
    assert.ok(hosts.every((h) => h === hosts[0]), 'concurrent callers share one connection');
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => hosts[0].run(`sleep 0.05; echo ${i}; exit ${i % 4}`)));
    results.forEach((r, i) => {
      assert.equal(r.stdout, `${i}\n`);
      assert.equal(r.code, i % 4);
    });
    assert.equal(p.connectCount, 1);
    assert.equal(acceptedConnections(LAB, 'hv3') - before, 1, 'sshd accepted exactly one connection');
  });

  it('times out a command with a clear TimeoutError and keeps the connection usable', async () => {
    const h = await pool().get('hv1', vars(1));
    const t0 = Date.now();
    const e = await rejection(h.run('sleep 20', { timeoutMs: 300 }));
    assert.ok(e instanceof TimeoutError, String(e));
    assert.match(e.message, /hv1: command timed out after 0\.3 s and was killed: sleep 20/);
    assert.ok(Date.now() - t0 < 3000);
    // Killed on the host, children included (closing the channel alone would leave it running).
    const left = await nsExec(lab.hosts[0].ns, 'pgrep -f "^sleep 20$" || true');
    assert.equal(left.stdout.trim(), '', 'the timed-out command is still running on the host');
    assert.equal((await h.run('echo still')).stdout, 'still\n');
  });

  it('becomes root through sudo -n', async () => {
    const h = await pool().get('hv1', vars(1, { ansible_become: true, ansible_become_user: 'root' }));
    assert.equal((await h.run('id -u')).stdout, '0\n');
    assert.match(commandsLog(LAB, 'hv1').at(-1)!, /^sudo -n -u root -- sh -c /);
  });

  it('becomes root from a normal login with a sudo password that never appears in a command line', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    addTestUser(password);
    const h = await pool().get('hv2', vars(2, { ansible_user: USER, ansible_become: true, ansible_become_password: password }));
    assert.equal((await h.run('id -un')).stdout, 'root\n');
    assert.equal((await h.run('id -un', { become: false })).stdout, `${USER}\n`);
    const wrong = await pool().get('hv2', vars(2, { ansible_user: USER, ansible_become: true, ansible_become_password: 'wrong' }));
    assert.notEqual((await wrong.run('id -u')).code, 0);
    assert.ok(!readFileSync(lab.hosts[1].commandsLog, 'utf8').includes(password), 'password not in any command');
    assert.ok(!readFileSync(lab.hosts[1].sshdLog, 'utf8').includes(password));
  });

  it('become with a password on a login sudo does not ask (root): the password never reaches the command', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    const h = await pool().get('hv1', vars(1, { ansible_become: true, ansible_become_password: password }));
    const path = '/etc/play/ssh-become-pw.txt';
    await nsExec(lab.hosts[0].ns, `rm -f ${path}`);
    await h.writeFile(path, 'exact\ncontent');
    assert.equal(readFileSync(`/etc/netns/${lab.hosts[0].ns}/play/ssh-become-pw.txt`, 'utf8'), 'exact\ncontent');
    assert.equal((await h.run('cat', { stdin: 'line1\nline2' })).stdout, 'line1\nline2');
    assert.equal((await h.run('id -u')).stdout, '0\n');
    assert.ok(!readFileSync(lab.hosts[0].commandsLog, 'utf8').includes(password), 'password not in any command');
    await nsExec(lab.hosts[0].ns, `rm -f ${path}`);
  });

  it('become with a password that sudo asks for: stdin intact, password in no process argv or environment', async () => {
    const password = `pw-${randomBytes(6).toString('hex')}`;
    addTestUser(password);
    try {
      const h = await pool().get('hv2', vars(2, { ansible_user: USER, ansible_become: true, ansible_become_password: password }));
      assert.equal((await h.run('cat; id -un', { stdin: 'a\n\nb' })).stdout, 'a\n\nbroot\n');
      // While a become command runs, read every process's argv and environment on the machine.
      const marker = `play-pw-probe-${randomBytes(4).toString('hex')}`;
      const running = h.run(`sleep 1.5; echo ${marker} >/dev/null`);
      let sawIt = false;
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 100));
        const procs = execFileSync('sh', ['-c', 'for p in /proc/[0-9]*; do cat $p/cmdline $p/environ 2>/dev/null; echo; done'], { maxBuffer: 64 << 20 });
        sawIt ||= procs.includes(marker);
        assert.ok(!procs.includes(password), 'password visible in /proc');
      }
      assert.ok(sawIt, 'the probe ran while the become command was running');
      assert.equal((await running).code, 0);
    } finally {
      removeTestUser();
    }
  });

  it('goes through a ProxyJump host', async () => {
    // Who holds TCP connections to hv2's sshd: this process (direct) or an sshd (forwarding).
    const owners = () => {
      const ss = execFileSync('ss', ['-Htnp', 'state', 'established', 'dst', `${lab.hosts[1].address}:22`], { encoding: 'utf8' });
      return { node: (ss.match(/"node"/g) ?? []).length, sshd: (ss.match(/"sshd"/g) ?? []).length };
    };
    const before = owners();
    const p = pool();
    const h = await p.get('hv2', vars(2, { ansible_ssh_common_args: `-o ProxyJump=root@${lab.hosts[0].address}` }));
    assert.match((await h.run('ip -br addr show dev eth1')).stdout, new RegExp(`198\\.18\\.${testOctet(21)}\\.2/`));
    const during = owners();
    assert.equal(during.node, before.node, 'no direct connection from this process to hv2');
    assert.equal(during.sshd, before.sshd + 1, "hv1's sshd forwards the connection");
    // A second host behind the same bastion shares its connection: one more session on hv1, not two.
    const hv1Before = acceptedConnections(LAB, 'hv1');
    const h3 = await p.get('hv3', vars(3, { ansible_ssh_common_args: `-o ProxyJump=root@${lab.hosts[0].address}` }));
    assert.match((await h3.run('ip -br addr show dev eth1')).stdout, new RegExp(`198\\.18\\.${testOctet(21)}\\.3/`));
    assert.equal(acceptedConnections(LAB, 'hv1'), hv1Before, 'the bastion connection is shared');
    await p.closeAll();
  });

  it('fails fast with a clear ConnectionError on a stopped host, and remembers it for the run', async () => {
    await stopHost(LAB, 3);
    try {
      const p = pool();
      const t0 = Date.now();
      const e = await rejection(p.get('hv3', vars(3)));
      assert.ok(e instanceof ConnectionError && !(e instanceof HostKeyError), String(e));
      assert.equal(e.message, `hv3: connection refused by 127.0.${testOctet(21)}.13:22 (no sshd listening?)`);
      assert.ok(Date.now() - t0 < 2000);
      await startHost(LAB, 3);
      assert.equal(await rejection(p.get('hv3', vars(3))), e, 'the failure is cached for the run');
    } finally {
      await startHost(LAB, 3);
    }
  });

  it('names the key it tried when authentication fails', async () => {
    const key = join(tmp, 'other_key');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
    const e = await rejection(pool({ env: { home: tmp, agent: '' } }).get('hv1', vars(1, { ansible_ssh_private_key_file: key })));
    assert.ok(e instanceof ConnectionError, String(e));
    assert.equal(e.message, `hv1: authentication failed for root@127.0.${testOctet(21)}.11:22 (tried publickey ${key})`);
  });

  it('reports an unreadable key file before connecting', async () => {
    const missing = join(tmp, 'no-such-key');
    const e = await rejection(pool().get('hv1', vars(1, { ansible_ssh_private_key_file: missing })));
    assert.ok(e instanceof ConnectionError);
    assert.match(e.message, /cannot read private key .*no-such-key .*ENOENT/);
    copyFileSync(lab.keyPath, join(tmp, 'copied')); // a copy of the lab key works the same
    const h = await pool().get('hv1', vars(1, { ansible_ssh_private_key_file: join(tmp, 'copied') }));
    assert.equal((await h.run('echo ok')).stdout, 'ok\n');
  });
});
