// The fleet simulator's own logic: word splitting, answers from the captured profile, known_hosts
// matching, GNU time parsing; and the simulator process end to end with real OpenSSH and ssh2.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { shQuote } from '../../engine/connection/quote.js';
import { splitWords } from '../../bench/sim/words.js';
import { answer, loadProfile, writeTarget } from '../../bench/sim/profile.js';
import { parseKnownHosts } from '../../bench/sim/known-hosts.js';
import { parseTimeOutput, median } from '../../bench/measure.js';
import { linearFit } from '../../bench/report.js';
import { startSim } from '../../bench/sim/sim-process.js';
import { floorSsh2 } from '../../bench/floor.js';
import { generateInventory } from '../../bench/gen-inventory.js';
import { writeBenchWork } from '../../bench/gen-playbook.js';

const profile = loadProfile(rootPath('bench/profiles/hypervisor.json'));
const wrap = (c: string) => `LC_ALL=C; export LC_ALL; ${c}`;

describe('bench: fleet simulator', () => {
  describe('splitWords', () => {
    it('undoes shQuote for awkward values', () => {
      for (const v of ["it's", 'a b', '', '$x', 'plain']) assert.deepEqual(splitWords(`cat ${shQuote(v)}`), ['cat', v]);
    });
    it('refuses pipelines, expansions and scripts', () => {
      for (const c of ['a | b', 'a; b', 'echo $HOME', 'a && b', 'echo `x`', 'ls *']) assert.equal(splitWords(c), undefined, c);
    });
  });

  describe('answer (captured profile)', () => {
    it('answers sysctl reads from the captured values, names and missing keys like procps', () => {
      const r = answer(profile, wrap('sysctl -n net.ipv4.tcp_rmem net.core.somaxconn'));
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `${profile.profile.sysctl['net.ipv4.tcp_rmem']}\n${profile.profile.sysctl['net.core.somaxconn']}\n`);
      assert.match(r.stdout, /^\d+\t\d+\t\d+\n/); // tabs, as the kernel prints them
      assert.equal(answer(profile, wrap('sysctl net.core.somaxconn')).stdout, `net.core.somaxconn = ${profile.profile.sysctl['net.core.somaxconn']}\n`);
      const miss = answer(profile, wrap('sysctl -n net.no.such'));
      assert.deepEqual([miss.code, miss.stderr], [1, 'sysctl: cannot stat /proc/sys/net/no/such: No such file or directory\n']);
    });
    it('answers the engine readFile script: content, or exit 3 when missing', () => {
      const p = '/etc/libvirt/qemu.conf';
      assert.equal(answer(profile, wrap(`if [ -e ${shQuote(p)} ]; then exec cat -- ${shQuote(p)}; else exit 3; fi`)).stdout, profile.profile.files[p]);
      const q = "/etc/play/it's missing";
      assert.equal(answer(profile, wrap(`if [ -e ${shQuote(q)} ]; then exec cat -- ${shQuote(q)}; else exit 3; fi`)).code, 3);
    });
    it('uses exact captured outputs and regex rules with captures', () => {
      assert.match(answer(profile, wrap('ethtool -k eth1')).stdout, /^Features for eth1:/);
      assert.equal(answer(profile, wrap('ethtool -g eth1')).code, 1);
      assert.equal(JSON.parse(answer(profile, wrap('ip -j link show dev eth1')).stdout)[0].ifname, 'eth1');
      assert.equal(answer(profile, wrap('command -v nft')).stdout, '/usr/sbin/nft\n');
    });
    it('marks unknown commands: exit 127, known false', () => {
      const r = answer(profile, wrap('virsh list --all'));
      assert.deepEqual([r.code, r.known], [127, false]);
      assert.match(r.stderr, /virsh: no profile entry/);
    });
    it('recognises the engine writeFile script and, with per-host files, serves what was written', () => {
      const script = ['set -e', `p=${shQuote('/etc/play/x y.conf')}`, 'd=$(dirname -- "$p")'].join('\n');
      assert.equal(writeTarget(wrap(script)), '/etc/play/x y.conf');
      assert.equal(answer(profile, wrap('cat /etc/play/x.conf'), new Map([['/etc/play/x.conf', 'new\n']])).stdout, 'new\n');
    });
  });

  it('matches plain and hashed known_hosts entries (hashed by ssh-keygen -H)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-kh-'));
    try {
      const blob = Buffer.from('fake-key-blob').toString('base64');
      writeFileSync(join(dir, 'kh'), `[127.0.0.1]:22000 ssh-ed25519 ${blob}\n127.0.0.5 ssh-ed25519 ${blob}\n`);
      execFileSync('ssh-keygen', ['-q', '-H', '-f', join(dir, 'kh')], { stdio: 'ignore' });
      const text = execFileSync('cat', [join(dir, 'kh')], { encoding: 'utf8' });
      assert.ok(text.startsWith('|1|'));
      const kh = parseKnownHosts(text);
      assert.equal(kh.keysFor('127.0.0.1', 22000).length, 1);
      assert.equal(kh.keysFor('127.0.0.5', 22).length, 1);
      assert.equal(kh.keysFor('127.0.0.1', 22001).length, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('parses GNU time output; median; linear fit', () => {
    const out = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', 'true'], { encoding: 'utf8' }).stderr;
    const t = parseTimeOutput(out);
    assert.ok(t && t.maxRssKb > 0 && t.userMs >= 0);
    assert.equal(median([5, 1, 3]), 3);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    const fit = linearFit([1000, 2000, 5000], [100000, 150000, 300000]);
    assert.equal(Math.round(fit.slope), 50);
    assert.ok(fit.r2 > 0.999);
  });

  it('answers every command of a real `play check` of the bench playbook: drift on each host, no unknown command', async function () {
    this.timeout(60000);
    const state = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const sim = await startSim({ ports: 2, basePort: 22960, latencyMs: 1, workers: 1, stateDir: state });
    try {
      const inv = generateInventory({ dir: join(state, 'inv'), hosts: 150, ports: 2, basePort: 22960, keyPath: sim.info.clientKey, knownHostsPath: sim.info.knownHosts });
      const r = spawnSync(process.execPath, [rootPath('dist/engine/cli.js'), 'check', writeBenchWork(10).play, '-i', inv.file, '--forks', '50', '--state-dir', join(state, 'st')], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
      assert.equal(r.status, 2, r.stdout + r.stderr); // a fresh host drifts; 6 (errors) would mean a lost or wrong reply
      assert.match(r.stdout, /^150\/150 hosts drifted/m);
      const s = await sim.stop();
      assert.deepEqual([s.unknown, s.errors, s.connections], [0, 0, 150]);
    } finally {
      await sim.stop().catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }
  });

  it('serves 200 virtual hosts to ssh2 and one to OpenSSH with strict host keys, counting unknown commands', async function () {
    this.timeout(30000);
    const state = mkdtempSync(join(tmpdir(), 'bench-sim-'));
    const sim = await startSim({ ports: 2, basePort: 22950, latencyMs: 1, workers: 1, stateDir: state });
    try {
      const inv = generateInventory({ dir: join(state, 'inv'), hosts: 200, ports: 2, basePort: 22950 });
      const r = await floorSsh2(inv.targets, ['sysctl -n net.ipv4.tcp_wmem', 'ethtool -k eth1', 'nosuchcommand'], sim.info.clientKey, sim.info.knownHosts, 50);
      assert.deepEqual([r.failedHosts, r.execs, r.nonZero], [0, 600, 200]);
      const ssh = spawnSync('ssh', ['-F', '/dev/null', '-i', sim.info.clientKey, '-p', '22951', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${sim.info.knownHosts}`, 'sim00007@127.0.0.1', 'sysctl -n net.ipv4.tcp_mtu_probing'], { encoding: 'utf8' });
      assert.equal(ssh.status, 0, ssh.stderr);
      assert.equal(ssh.stdout, `${profile.profile.sysctl['net.ipv4.tcp_mtu_probing']}\n`);
      const s = await sim.stop();
      assert.equal(s.connections, 201);
      assert.equal(s.virtualHosts, 200); // sim00007 came twice: once per client
      assert.equal(s.unknown, 200);
      assert.deepEqual(Object.keys(s.unknownCommands), [wrap('nosuchcommand')]);
      assert.ok(s.maxRssKb > 0 && s.cpuUserMs > 0);
    } finally {
      await sim.stop().catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
    }
  });
});
