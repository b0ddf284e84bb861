// Faults during a run, on the lab (lab 'faults', 3 hosts) through the real CLI: a lost
// connection, a host that stops answering, Ctrl-C/SIGTERM, an interrupted upload, backups.
// Each fault is made for real: a session sshd killed or stopped, a signal sent to `play`.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI } from './play-cli.js';
import { commandsLog, testLabName, testOctet, startLab, stopLab, type LabInfo } from './lab-fixture.js';

const LAB = testLabName('faults');

interface Ended {
  code: number | null;
  out: string;
  err: string;
}

/** `play` as cron would run it (no terminal), with a handle to signal it. */
function startPlay(args: string[]): { child: ChildProcess; ended: Promise<Ended> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1', CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString('utf8')));
  const ended = new Promise<Ended>((resolve) => child.on('close', (code) => resolve({ code, out, err })));
  return { child, ended };
}

async function waitFor(what: string, ms: number, pred: () => boolean): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const ppidOf = (pid: string): number | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
};

/** The per-connection sshd processes of a lab host: the children of its listener. */
function sessionSshds(lab: LabInfo, host: number): number[] {
  const listener = Number(readFileSync(lab.hosts[host - 1].pidFile, 'utf8').trim());
  return readdirSync('/proc')
    .filter((e) => /^[0-9]+$/.test(e) && ppidOf(e) === listener)
    .map(Number);
}

function signalSessions(lab: LabInfo, host: number, sig: NodeJS.Signals): number[] {
  const pids = sessionSshds(lab, host);
  for (const p of pids) process.kill(p, sig);
  return pids;
}

/** Processes on this machine (lab hosts share it) whose command line is exactly `cmd`. */
function running(cmd: string): number {
  return readdirSync('/proc').filter((e) => {
    if (!/^[0-9]+$/.test(e)) return false;
    try {
      return readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ') === cmd;
    } catch {
      return false;
    }
  }).length;
}

const hostLine = (out: string, host: string) => out.split('\n').find((l) => l.startsWith(`${host} `)) ?? '';

describe('faults during a run (faults)', function () {
  this.timeout(60_000);
  let lab: LabInfo;
  let tmp: string;
  let n = 0;
  /** A fresh directory per case: playbook, reports and state side by side. */
  const scratch = () => {
    const d = join(tmp, `case${++n}`);
    mkdirSync(d);
    return d;
  };

  before(async () => {
    lab = await startLab({ name: LAB, hosts: 3, octet: testOctet(35) });
    tmp = mkdtempSync(join(tmpdir(), 'play-faults-'));
  });
  after(async () => {
    await stopLab(LAB);
    rmSync(tmp, { recursive: true, force: true });
  });

  const runArgs = (dir: string, playbook: string, extra: string[] = []) => [
    'run', join(dir, playbook), '-i', lab.inventoryPath, '--state-dir', join(dir, 'state'),
    '--report', `json=${join(dir, 'report.json')}`, '--report', `junit=${join(dir, 'report.xml')}`, ...extra,
  ];
  const historyRuns = (dir: string) => {
    const runs = join(dir, 'state', 'runs');
    if (!existsSync(runs)) return [];
    return readdirSync(runs).flatMap((k) => readdirSync(join(runs, k)).filter((f) => f !== 'key.json').map((f) => JSON.parse(readFileSync(join(runs, k, f), 'utf8'))));
  };

  /** Starts `play` and resolves once hv2 has started the command containing `marker`. */
  async function startedOnHv2(args: string[], marker: string): Promise<{ ended: Promise<Ended> }> {
    const at = commandsLog(LAB, 'hv2').length;
    const { ended } = startPlay(args);
    await waitFor('hv2 to start the sleep', 20_000, () => commandsLog(LAB, 'hv2').slice(at).some((c) => c.includes(marker)));
    return { ended }; // wrapped: an awaited promise would wait for the whole run
  }

  it('a connection lost mid-run: the host is unreachable, the others finish, recap, reports, history and exit 4', async () => {
    const dir = scratch();
    const marker = `sleep 2.${randomBytes(2).readUInt16BE() % 1000}`;
    writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${marker}\n    - command: echo after\n`);
    const { ended } = await startedOnHv2(runArgs(dir, 'pb.yml'), marker);
    assert.ok(signalSessions(lab, 2, 'SIGKILL').length > 0, "hv2's session sshd");
    const r = await ended;
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.out, /unreachable: hv2\n\s+SSH connection to hv2 \(\S+\) was lost/);
    assert.match(hostLine(r.out, 'hv2'), /unreachable=1/);
    for (const h of ['hv1', 'hv3']) assert.match(hostLine(r.out, h), /ok=2 +changed=2 +unreachable=0 +failed=0/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(report.exitCode, 4);
    assert.match(report.hosts.find((h: { name: string }) => h.name === 'hv2').unreachable, /was lost/);
    assert.match(readFileSync(join(dir, 'report.xml'), 'utf8'), /<testsuite name="hv2"/);
    assert.equal(historyRuns(dir).length, 1);
  });

  it('play check with a connection lost mid-check: exit 6 (drift and unreachable), the drift summary and the report', async () => {
    const dir = scratch();
    const marker = `sleep 2.${randomBytes(2).readUInt16BE() % 1000}`;
    writeFileSync(
      join(dir, 'pb.yml'),
      `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${marker}\n      check_mode: false\n` +
        `    - copy:\n        dest: ${join(dir, 'never-written-{{ inventory_hostname }}')}\n        content: "x"\n`,
    );
    const { ended } = await startedOnHv2(['check', ...runArgs(dir, 'pb.yml').slice(1)], marker);
    signalSessions(lab, 2, 'SIGKILL');
    const r = await ended;
    assert.equal(r.code, 6, r.out + r.err);
    assert.match(r.out, /2\/3 hosts drifted: .*; 1 unreachable/);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    assert.equal(report.summary.unreachable, 1);
    assert.equal(report.summary.drifted, 2);
    assert.equal(historyRuns(dir).length, 1);
  });

  for (const [label, extra, expected] of [
    ['the default keepalive (~15 s, not 75 s)', [], 15],
    ['--ssh-keepalive 1 (~3 s)', ['--ssh-keepalive', '1'], 3],
  ] as const) {
    it(`a host that stops answering (sshd stopped) is unreachable after ${label}; the others go on`, async function () {
      this.timeout(60_000);
      const dir = scratch();
      const marker = `sleep 1.${randomBytes(2).readUInt16BE() % 1000}`;
      writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${marker}\n    - command: echo after\n`);
      const { ended } = await startedOnHv2(runArgs(dir, 'pb.yml', [...extra]), marker);
      // Stopped, not killed: the TCP connection stays up and silent, as with a dropping firewall.
      const stopped = signalSessions(lab, 2, 'SIGSTOP');
      const t0 = Date.now();
      let r: Ended;
      try {
        r = await ended;
      } finally {
        for (const p of stopped) {
          // A session that was already closing when it was listed may be gone by now (ESRCH).
          for (const sig of ['SIGKILL', 'SIGCONT'] as const) {
            try {
              process.kill(p, sig);
            } catch (e) {
              if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
            }
          }
        }
      }
      const waited = (Date.now() - t0) / 1000;
      assert.equal(r.code, 4, r.out + r.err);
      assert.ok(waited > expected - 2 && waited < expected + 8, `declared unreachable after ${waited} s`);
      assert.match(r.out, new RegExp(`unreachable: hv2\\n\\s+hv2 \\(\\S+\\) stopped answering: no reply to SSH keepalives for ${expected} s`));
      for (const h of ['hv1', 'hv3']) assert.match(hostLine(r.out, h), /ok=2 +changed=2/);
    });
  }

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} mid-run: stops at once, kills the remote commands, prints the recap, writes "interrupted" reports and history, exit ${sig === 'SIGINT' ? 130 : 143}`, async () => {
      const dir = scratch();
      const cmd = `sleep 37.${randomBytes(2).readUInt16BE() % 1000}`;
      writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: echo before\n    - command: ${cmd}\n    - command: echo never\n`);
      const { child, ended } = startPlay(runArgs(dir, 'pb.yml'));
      await waitFor(`${cmd} on the 3 hosts`, 20_000, () => running(cmd) === 3);
      const t0 = Date.now();
      child.kill(sig);
      const r = await ended;
      const took = Date.now() - t0;
      assert.equal(r.code, sig === 'SIGINT' ? 130 : 143, r.out + r.err);
      assert.ok(took < 3000, `took ${took} ms to stop`);
      assert.match(r.err, new RegExp(`interrupted by ${sig}: stopping the running tasks`));
      assert.match(r.out, new RegExp(`INTERRUPTED by ${sig}`));
      for (const h of ['hv1', 'hv2', 'hv3']) assert.match(hostLine(r.out, h), /ok=1 +changed=1 +unreachable=0 +failed=1/);
      assert.doesNotMatch(r.out, /echo never/);
      await waitFor('the remote sleeps to end', 2000, () => running(cmd) === 0);
      const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
      assert.equal(report.interrupted, sig);
      assert.equal(report.exitCode, sig === 'SIGINT' ? 130 : 143);
      assert.match(report.summary.line, new RegExp(`^interrupted by ${sig}: `));
      assert.match(readFileSync(join(dir, 'report.xml'), 'utf8'), new RegExp(`<property name="interrupted" value="${sig}"/>`));
      const history = historyRuns(dir);
      assert.equal(history.length, 1);
      assert.equal(history[0].interrupted, sig);
      // Written atomically: no temp file of a report or history entry is left behind.
      assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
    });
  }

  it('Ctrl-C while a host is still connecting (its sshd frozen): the connection attempt is given up at once', async () => {
    const dir = scratch();
    const cmd = `sleep 36.${randomBytes(2).readUInt16BE() % 1000}`;
    writeFileSync(join(dir, 'pb.yml'), `- hosts: all\n  gather_facts: false\n  tasks:\n    - command: ${cmd}\n`);
    // The listener frozen: the kernel accepts the TCP connection, the SSH banner never comes.
    const listener = Number(readFileSync(lab.hosts[1].pidFile, 'utf8').trim());
    process.kill(listener, 'SIGSTOP');
    try {
      const { child, ended } = startPlay([...runArgs(dir, 'pb.yml'), '-e', 'ansible_timeout=50']);
      await waitFor(`${cmd} on hv1 and hv3`, 20_000, () => running(cmd) === 2);
      const t0 = Date.now();
      child.kill('SIGINT');
      const r = await ended;
      assert.equal(r.code, 130, r.out + r.err);
      assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
      assert.match(r.out, /failed: hv2\n(.*\n)*?\s+hv2: stopped: interrupted by SIGINT/);
    } finally {
      process.kill(listener, 'SIGCONT');
    }
  });

  describe('on connection: local', () => {
    const localRun = (dir: string, tasks: string) => {
      writeFileSync(join(dir, 'hosts.ini'), 'localhost ansible_connection=local\n');
      writeFileSync(join(dir, 'pb.yml'), `- hosts: localhost\n  gather_facts: false\n  tasks:\n${tasks}`);
      return ['run', join(dir, 'pb.yml'), '-i', join(dir, 'hosts.ini'), '--state-dir', join(dir, 'state'), '--report', `json=${join(dir, 'report.json')}`];
    };

    it('SIGINT kills a local command too (its process group) and exits 130', async () => {
      const dir = scratch();
      const cmd = `sleep 38.${randomBytes(2).readUInt16BE() % 1000}`;
      const { child, ended } = startPlay(localRun(dir, `    - command: ${cmd}\n`));
      await waitFor(cmd, 20_000, () => running(cmd) === 1);
      child.kill('SIGINT');
      const r = await ended;
      assert.equal(r.code, 130, r.out + r.err);
      await waitFor(`${cmd} to end`, 2000, () => running(cmd) === 0);
      assert.equal(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).interrupted, 'SIGINT');
    });

    it('output piped to head: no EPIPE crash, the run goes on to its end and writes its report', () => {
      const dir = scratch();
      const args = localRun(dir, '    - command: echo one\n    - command: sleep 0.3\n    - command: echo three\n').map((a) => `'${a}'`).join(' ');
      const r = spawnSync('bash', ['-c', `'${process.execPath}' '${CLI}' ${args} | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', CI: 'true' } });
      assert.equal(r.stdout, `inventory: ${join(dir, 'hosts.ini')}\n`);
      assert.equal(r.stderr, 'rc=0\n');
      assert.equal(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')).summary.changed, 1);
    });
  });

  describe('an interrupted 30 MB upload leaves the old file and no temp file', () => {
    let big: string;
    before(() => {
      big = join(tmp, 'big.bin');
      writeFileSync(big, randomBytes(30 << 20));
    });

    const cases: Array<[string, (child: ChildProcess) => void, number | null]> = [
      ['the client killed (SIGKILL)', (c) => c.kill('SIGKILL'), null],
      ["the host's session sshd killed", () => signalSessions(lab, 1, 'SIGKILL'), 4],
      ['Ctrl-C (SIGINT)', (c) => c.kill('SIGINT'), 130],
    ];
    for (const [label, interrupt, code] of cases) {
      it(label, async () => {
        const dir = scratch();
        const target = join(dir, 'target.bin');
        writeFileSync(target, 'old content\n');
        writeFileSync(join(dir, 'pb.yml'), `- hosts: hv1\n  gather_facts: false\n  tasks:\n    - copy:\n        src: ${big}\n        dest: ${target}\n`);
        const { child, ended } = startPlay(runArgs(dir, 'pb.yml'));
        const temps = () => readdirSync(dir).filter((f) => f.startsWith('.play-tmp.'));
        await waitFor('the upload to start', 30_000, () => temps().length > 0);
        // Frozen mid-upload, so the fault always lands before the last byte.
        child.kill('SIGSTOP');
        interrupt(child);
        child.kill('SIGCONT');
        const r = await ended;
        assert.equal(r.code, code, r.out + r.err);
        await waitFor('the temp file to be removed on the host', 5000, () => temps().length === 0);
        assert.equal(readFileSync(target, 'utf8'), 'old content\n');
      });
    }
  });

  it('one backup per file per run: 30 edits of one ini file leave one backup, holding the content before the run', async () => {
    const dir = scratch();
    const file = join(dir, 'app.ini');
    writeFileSync(file, '[main]\nkey = before\n');
    writeFileSync(
      join(dir, 'pb.yml'),
      `- hosts: hv1\n  gather_facts: false\n  tasks:\n    - ini:\n        path: ${file}\n        section: main\n        option: key\n        value: "v{{ item }}"\n      loop: [${Array.from({ length: 30 }, (_, i) => i + 1).join(', ')}]\n`,
    );
    const { ended } = startPlay(runArgs(dir, 'pb.yml'));
    const r = await ended;
    assert.equal(r.code, 0, r.out + r.err);
    const backups = readdirSync(dir).filter((f) => f.startsWith('app.ini.') && f.endsWith('~'));
    assert.equal(backups.length, 1, backups.join(', '));
    assert.equal(readFileSync(join(dir, backups[0]), 'utf8'), '[main]\nkey = before\n');
    assert.match(readFileSync(file, 'utf8'), /key = v30/);
  });
});
