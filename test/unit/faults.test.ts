// The pure parts of fault handling: keepalive settings, the channel tie, the verified write
// script (run by a real /bin/sh on a cut-short input), interruption exit codes and wording.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { INCOMPLETE_UPLOAD, writeScript } from '../../engine/connection/base-host.js';
import { connectionSpecFor } from '../../engine/connection/spec.js';
import { effectiveKeepalive, keepaliveConfig } from '../../engine/connection/ssh.js';
import { simpleShell, tiedToChannel, untie } from '../../engine/connection/tie.js';
import { PlayError } from '../../engine/errors.js';
import { interruptExitCode, interruptName } from '../../engine/results.js';
import { untilDoneOrGraceOver } from '../../engine/runner/run.js';
import { driftDiffCommand } from '../../engine/report/cli.js';
import { saveRun } from '../../engine/report/index.js';
import type { RunRecord } from '../../engine/results.js';
import { loadRecord } from './report-fixture.js';
import { taskHost } from '../../engine/runner/task-host.js';
import { LocalHost } from '../../engine/connection/local.js';
import { InterruptedError } from '../../engine/errors.js';

const env = { home: '/nonexistent', sshConfig: [], agent: '', hostKeyCheckingEnv: '' };
const keepaliveOf = (vars: Record<string, unknown>, run?: { intervalS: number; countMax: number }) =>
  effectiveKeepalive(connectionSpecFor('hv1', { ansible_host: '127.0.0.1', ...vars }, env), { keepalive: run });

describe('faults: keepalive settings', () => {
  it('defaults to 5 s x 3, and ssh2 gives up after 15 s (one fewer count: it waits one interval more)', () => {
    assert.deepEqual(keepaliveOf({}), { intervalS: 5, countMax: 3 });
    assert.deepEqual(keepaliveConfig({ intervalS: 5, countMax: 3 }), { keepaliveInterval: 5000, keepaliveCountMax: 2 });
  });

  it('host variables win over ServerAlive* in the ssh arguments, which win over the run default', () => {
    const args = { ansible_ssh_common_args: '-o ServerAliveInterval=7 -o ServerAliveCountMax=4' };
    assert.deepEqual(keepaliveOf(args, { intervalS: 2, countMax: 3 }), { intervalS: 7, countMax: 4 });
    assert.deepEqual(keepaliveOf({ ...args, play_ssh_keepalive_interval: '1', play_ssh_keepalive_count_max: 2 }), { intervalS: 1, countMax: 2 });
    assert.deepEqual(keepaliveOf({}, { intervalS: 2, countMax: 3 }), { intervalS: 2, countMax: 3 });
    assert.deepEqual(keepaliveConfig(keepaliveOf({ play_ssh_keepalive_interval: 0 })), { keepaliveInterval: 0, keepaliveCountMax: 2 }, '0 turns keepalives off');
  });

  it('refuses values that are not counts, naming the variable', () => {
    assert.throws(() => keepaliveOf({ play_ssh_keepalive_interval: '5s' }), (e: Error) => e instanceof PlayError && /play_ssh_keepalive_interval must be a whole number, got '5s'/.test(e.message));
    assert.throws(() => keepaliveOf({ play_ssh_keepalive_count_max: 0 }), /play_ssh_keepalive_count_max must be a whole number of at least 1/);
    assert.throws(() => keepaliveOf({ ansible_ssh_common_args: '-o ServerAliveInterval=x' }), /ServerAliveInterval must be a whole number/);
  });
});

describe('faults: commands tied to their channel', function () {
  this.timeout(10_000);
  const sh = (script: string, stdin: string) => spawnSync('/bin/sh', ['-c', script], { input: stdin, encoding: 'utf8', timeout: 10_000 });

  it('untie gives back the command asked for, awkward quotes included', () => {
    for (const cmd of ["echo 'it'\\''s' \"$HOME\"", 'plain', 'a\nb']) {
      assert.equal(untie(tiedToChannel(simpleShell(cmd))), cmd);
      assert.equal(untie(tiedToChannel(simpleShell(cmd, 1500))), cmd);
    }
    assert.equal(untie('sudo -n -u root -- sh -c x'), 'sudo -n -u root -- sh -c x', 'anything else is left alone');
  });

  it('keeps the exit status, output and stderr of the command (run by /bin/sh, stdin held open)', () => {
    // A pipe that stays open for the whole command, as the SSH channel does.
    const r = spawnSync('/bin/sh', ['-c', `sleep 1 | { ${tiedToChannel(simpleShell('echo out; echo err >&2; exit 3'))}\n}`], { encoding: 'utf8' });
    assert.deepEqual([r.status, r.stdout, r.stderr], [3, 'out\n', 'err\n']);
  });

  it('kills the whole command when its stdin (the channel) closes, children included', () => {
    const marker = `sleep 59.${randomBytes(2).readUInt16BE() % 1000}`;
    const t0 = Date.now();
    // Empty stdin = a channel closed at once: the command and its child must be gone.
    const r = sh(tiedToChannel(simpleShell(`${marker} & wait`)), '');
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(r.signal, 'SIGTERM', 'dies of the same TERM its command got');
    const left = readdirSync('/proc').filter((e) => {
      try {
        return /^[0-9]+$/.test(e) && readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ') === marker;
      } catch {
        return false; // gone meanwhile
      }
    });
    assert.deepEqual(left, [], `${marker} still running`);
  });
});

describe('faults: verified writes', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-write-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const write = (data: Buffer, sent: Buffer) => spawnSync('/bin/sh', ['-c', writeScript(join(dir, 'f'), data, {})], { input: sent, encoding: 'utf8' });

  it('installs the content when all of it arrived', () => {
    writeFileSync(join(dir, 'f'), 'old\n');
    const data = randomBytes(100_000);
    const r = write(data, data);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readFileSync(join(dir, 'f')), data);
    assert.deepEqual(readdirSync(dir), ['f']);
  });

  it('keeps the old file and removes the temp file when the content was cut short or altered', () => {
    writeFileSync(join(dir, 'f'), 'old\n');
    const data = randomBytes(100_000);
    const cut = write(data, data.subarray(0, 327_680 % data.length));
    assert.equal(cut.status, INCOMPLETE_UPLOAD);
    assert.match(cut.stderr, /incomplete upload: 27680 of 100000 bytes arrived or their sha256 differs; the file was left as it was/);
    const altered = Buffer.from(data);
    altered[5] ^= 1;
    assert.equal(write(data, altered).status, INCOMPLETE_UPLOAD, 'same length, other bytes');
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'old\n');
    assert.deepEqual(readdirSync(dir), ['f']);
  });
});

describe('faults: one backup per file per run', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'play-backup-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const backupsOf = (name: string) => readdirSync(dir).filter((f) => f.startsWith(`${name}.`) && f.endsWith('~'));

  it('a run backs a file up once, before its first change, and reports that backup for every later write', async () => {
    const f = join(dir, 'a.ini');
    writeFileSync(f, 'before\n');
    const host = taskHost(new LocalHost('localhost'), false, undefined, undefined, undefined, new Map());
    const results = [];
    for (const v of ['1', '2', '3']) results.push(await host.writeFile(f, `v${v}\n`, { backup: true }));
    assert.equal(backupsOf('a.ini').length, 1);
    assert.equal(readFileSync(join(dir, backupsOf('a.ini')[0]), 'utf8'), 'before\n');
    assert.ok(results.every((r) => r.backupPath === join(dir, backupsOf('a.ini')[0])));
    assert.equal(readFileSync(f, 'utf8'), 'v3\n');
  });

  it('outside a run (no run memory) every write keeps its backup, as before', async () => {
    const f = join(dir, 'b.ini');
    writeFileSync(f, 'before\n');
    const host = taskHost(new LocalHost('localhost'), false, undefined);
    for (const v of ['1', '2']) await host.writeFile(f, `v${v}\n`, { backup: true });
    assert.equal(backupsOf('b.ini').length, 2);
  });
});

describe('faults: interruption', () => {
  const never = new Promise<void>(() => undefined);
  const timed = async (p: Promise<void>) => {
    const t0 = Date.now();
    await p;
    return Date.now() - t0;
  };

  it('waits for the run itself, however long, when nothing interrupts it', async () => {
    const run = new AbortController();
    assert.ok((await timed(untilDoneOrGraceOver(new Promise((r) => setTimeout(r, 150)), { signal: run.signal, interruptGraceMs: 10 }))) >= 140);
  });

  it('after an interruption, waits the grace period for running tasks, and no longer', async () => {
    const run = new AbortController();
    setTimeout(() => run.abort(), 50);
    const took = await timed(untilDoneOrGraceOver(never, { signal: run.signal, interruptGraceMs: 200 }));
    assert.ok(took >= 240 && took < 1000, `${took} ms`);
    const quick = new AbortController();
    setTimeout(() => quick.abort(), 20);
    assert.ok((await timed(untilDoneOrGraceOver(new Promise((r) => setTimeout(r, 60)), { signal: quick.signal, interruptGraceMs: 5000 }))) < 1000, 'tasks that stop in time end it');
  });

  it('a second signal (hurry) ends the grace period at once', async () => {
    const run = new AbortController();
    const hurry = new AbortController();
    setTimeout(() => run.abort(), 20);
    setTimeout(() => hurry.abort(), 80);
    const took = await timed(untilDoneOrGraceOver(never, { signal: run.signal, hurry: hurry.signal, interruptGraceMs: 10_000 }));
    assert.ok(took >= 70 && took < 1000, `${took} ms`);
  });

  it('exits 128 + the signal number, and names the signal the run was interrupted by', () => {
    assert.equal(interruptExitCode('SIGINT'), 130);
    assert.equal(interruptExitCode('SIGTERM'), 143);
    const c = new AbortController();
    c.abort(new InterruptedError('interrupted by SIGTERM', 'SIGTERM'));
    assert.equal(interruptName(c.signal), 'SIGTERM');
  });

  it('an interrupted check is never the baseline of play drift diff (it saw only part of the fleet)', async () => {
    const state = mkdtempSync(join(tmpdir(), 'play-int-hist-'));
    try {
      const base = loadRecord();
      const at = (t: string, extra: Partial<RunRecord> = {}): RunRecord => ({ ...structuredClone(base), startedAt: t, ...extra });
      saveRun(state, at('2026-11-24T08:00:00.000Z'));
      saveRun(state, at('2026-11-24T08:15:00.000Z'));
      // The latest check was interrupted before it reached hv2: its missing drift is no news.
      const cut = at('2026-11-24T08:30:00.000Z', { interrupted: 'SIGTERM', exitCode: 143 });
      cut.hosts.hv2.tasks = cut.hosts.hv2.tasks.slice(0, 1);
      saveRun(state, cut);
      const lines: string[] = [];
      assert.equal(await driftDiffCommand(base.playbook, base.inventory, state, (l) => lines.push(l)), 0);
      assert.equal(lines[0], 'latest check: 2026-11-24T08:15:00.000Z');
      assert.match(lines[1], /0 new, 0 resolved, 3 still drifted/);
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
});
