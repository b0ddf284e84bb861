// An operator's Ansible-style playbook on the lab (lab 'habits', base octet 42, 2 hosts): a role,
// import_tasks, import_playbook, playbook-adjacent group_vars, lineinfile, blockinfile, shell,
// package, wait_for, fail and a read-only command (check_mode: false). It validates, runs,
// re-runs with zero changes, and `play check` exits 0 on the in-sync lab while sshd's command log
// shows the read-only command ran and nothing was written. Then strict targets, and package.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { testLabName, testOctet, commandsLog, startLab, stopLab, type LabInfo } from './lab-fixture.js';
import { writesIn } from './drift-host-state.js';
import { play } from './play-cli.js';

const LAB = testLabName('habits');
const SITE = rootPath('test', 'fixtures', 'habits', 'operator', 'site.yml');

/** Whether dpkg has the package installed on this machine (the lab hosts share its dpkg). */
function installed(pkg: string): boolean {
  try {
    return execFileSync('dpkg-query', ['-W', '-f=${db:Status-Status}', pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }) === 'installed';
  } catch {
    return false;
  }
}

describe('Ansible habits: an operator playbook on the lab', function () {
  this.timeout(180_000);
  let lab: LabInfo;
  let dir: string;
  let vars: string[];
  before(async () => {
    lab = await startLab({ name: LAB, hosts: 2, octet: testOctet(42) });
    dir = mkdtempSync(join(tmpdir(), 'play-habits-'));
    vars = ['-e', `state_dir=${dir}`, '-e', '{wanted_packages: [openssh-server]}', '--state-dir', join(dir, 'history')];
  });
  after(async () => {
    await stopLab(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  const commandsSince = (at: number[]) => ['hv1', 'hv2'].map((h, i) => commandsLog(LAB, h).slice(at[i]));
  const logAt = () => ['hv1', 'hv2'].map((h) => commandsLog(LAB, h).length);

  it('validates, runs, re-runs with zero changes, and play check exits 0 having run only the read-only commands', () => {
    const v = play(['validate', SITE, '-i', lab.inventoryPath, '-e', `state_dir=${dir}`, '-e', '{wanted_packages: [openssh-server]}']);
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /ok \(2 plays/);

    const first = play(['run', SITE, '-i', lab.inventoryPath, ...vars]);
    assert.equal(first.code, 0, first.out + first.err);
    assert.match(first.out, /^inventory: .*inventory\.yml$/m);
    const conf = readFileSync(join(dir, 'hv1.conf'), 'utf8');
    // The playbook's own group_vars/all.yml (10000) wins over the role default (1000).
    assert.equal(conf, 'max_bandwidth=10000\nmtu=1500\n');
    assert.equal(readFileSync(join(dir, 'hv2.motd'), 'utf8'), 'hv2 is managed by the migration_host role (migration_host); max_bandwidth 10000.\n');
    assert.equal(readFileSync(join(dir, 'hv1.handler'), 'utf8'), 'changed\n', "the role's handler ran once");

    const again = play(['run', SITE, '-i', lab.inventoryPath, ...vars, '--detailed-exitcodes']);
    assert.equal(again.code, 0, 'a re-run changes nothing: ' + again.out);
    assert.match(again.out, /hv1 +ok=\d+ +changed=0 .*failed=0/);

    const at = logAt();
    const prom = join(dir, 'check.prom');
    const check = play(['check', SITE, '-i', lab.inventoryPath, ...vars, '--report', `prometheus=${prom}`]);
    assert.equal(check.code, 0, check.out + check.err);
    assert.match(check.out, /0\/2 hosts drifted/);
    assert.match(readFileSync(prom, 'utf8'), /^play_host_in_sync\{[^}]*host="hv1"[^}]*\} 1$/m);
    for (const cmds of commandsSince(at)) {
      assert.ok(cmds.some((c) => c.includes('cat /sys/class/net/eth1/mtu')), 'the read-only command ran during the check');
      assert.deepEqual(writesIn(cmds).filter((w) => !/grep -c/.test(w.command)), [], 'play check wrote to a host');
      assert.ok(!cmds.some((c) => /apt-get -q -y|echo changed/.test(c)), 'a check ran apt-get or a handler');
    }

    // Drift behind its back: the role's line is found, the read-only command still runs.
    writeFileSync(join(dir, 'hv2.conf'), 'max_bandwidth=5\nmtu=1500\n');
    const drift = play(['check', SITE, '-i', lab.inventoryPath, ...vars]);
    assert.equal(drift.code, 2, drift.out);
    assert.match(drift.out, /hv2\.conf line: 'max_bandwidth=5' → 'max_bandwidth=10000'/);
  });

  it('an unknown --limit and a hosts: pattern matching nothing exit 1 naming the pattern; no report is overwritten', () => {
    const prom = join(dir, 'kept.prom');
    writeFileSync(prom, 'earlier report\n');
    const limit = play(['check', SITE, '-i', lab.inventoryPath, ...vars, '--limit', 'hv1,hv9', '--report', `prometheus=${prom}`]);
    assert.equal(limit.code, 1);
    assert.match(limit.err, /--limit 'hv1,hv9': no host or group named 'hv9' \(did you mean 'hv1'\?\)/);
    const typo = play(['check', SITE, '-i', lab.inventoryPath, ...vars, '-e', 'target_group=hypervisor', '--report', `prometheus=${prom}`]);
    assert.equal(typo.code, 1);
    assert.match(typo.err, /site\.yml:\d+:\d+: hosts: pattern 'hypervisor': no host or group named 'hypervisor' \(did you mean 'hypervisors'\?\)/);
    assert.match(typo.err, /preflight\.yml:\d+:\d+: hosts: pattern 'hypervisor'/, 'the imported playbook names its own file');
    assert.doesNotMatch(typo.err, /undefined variable/);
    assert.equal(readFileSync(prom, 'utf8'), 'earlier report\n');
  });

  it('package: check lists the install, run installs, check is in sync, absent removes (hello, a tiny package)', function () {
    const had = installed('hello');
    if (had) this.skip(); // never remove a package this machine had before the test
    // The lab's hosts have no network: fetch the .deb in the machine's namespace (shared /var/cache/apt).
    try {
      execFileSync('apt-get', ['install', '--download-only', '-y', '-q', 'hello'], { stdio: 'ignore', timeout: 120_000 });
    } catch {
      this.skip(); // no Debian mirror reachable from this machine
    }
    const pb = join(dir, 'hello.yml');
    writeFileSync(pb, '- hosts: hv1\n  gather_facts: false\n  tasks:\n    - ansible.builtin.apt: { name: hello, state: "{{ st }}" }\n');
    try {
      const c1 = play(['check', pb, '-i', lab.inventoryPath, '-e', 'st=present', '--state-dir', join(dir, 'h')]);
      assert.equal(c1.code, 2, c1.out + c1.err);
      assert.match(c1.out, /package hello: \(absent\) → '\S+'/);
      assert.ok(!installed('hello'), 'check mode installed the package');
      const r = play(['run', pb, '-i', lab.inventoryPath, '-e', 'st=present']);
      assert.equal(r.code, 0, r.out + r.err);
      assert.ok(installed('hello'));
      assert.equal(play(['check', pb, '-i', lab.inventoryPath, '-e', 'st=present', '--state-dir', join(dir, 'h')]).code, 0);
      const gone = play(['run', pb, '-i', lab.inventoryPath, '-e', 'st=absent']);
      assert.equal(gone.code, 0, gone.out + gone.err);
      assert.ok(!installed('hello'));
    } finally {
      if (installed('hello')) execFileSync('apt-get', ['remove', '-y', '-q', 'hello'], { stdio: 'ignore' });
    }
    void existsSync;
  });
});
