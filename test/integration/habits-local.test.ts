// Ansible habits that need no SSH (two connection: local hosts): read-only commands in checks,
// strict host patterns and --limit, templated hosts:, the run header, schedule pass-through.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { TaskEvent } from '../../engine/results.js';
import { play } from './play-cli.js';

const FIX = rootPath('test', 'fixtures', 'habits');
const INV = join(FIX, 'inventory.yml');

describe('Ansible habits on local hosts', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-habits-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const runFixture = async (file: string, check: boolean, extraVars: Record<string, unknown>) => {
    const events: TaskEvent[] = [];
    const rec = await runPlaybook({
      playbook: join(FIX, file), inventories: [INV], check, diff: false, tags: [], skipTags: [], forks: 5,
      extraVars, detailedExitcodes: true, command: check ? 'check' : 'run', observer: { hostTaskDone: (e) => events.push(e) },
    });
    const byName = (host: string, task: string) => events.find((e) => e.host === host && e.task === task)!.result;
    return { rec, byName };
  };

  it('changes reach results and the run record by their display path only; apply acts on each one\'s target', async () => {
    const check = await runFixture('facets.yml', true, { out: dir });
    const pending = check.byName('l1', 'a line and a mode');
    assert.deepEqual(pending.changes.map((c) => c.path), [`${dir}/f line`, `${dir}/f mode`]);
    assert.equal(existsSync(join(dir, 'f')), false, 'a check wrote');
    const run = await runFixture('facets.yml', false, { out: dir });
    assert.equal(run.byName('l1', 'a line and a mode').status, 'changed');
    assert.equal(readFileSync(join(dir, 'f'), 'utf8'), 'x = 1\n');
    assert.equal((statSync(join(dir, 'f')).mode & 0o777).toString(8), '600');
    for (const r of [pending, run.byName('l1', 'a line and a mode')]) for (const c of r.changes) assert.equal('target' in c, false, JSON.stringify(c));
    assert.doesNotMatch(JSON.stringify([check.rec, run.rec]), /"target"/);
    assert.equal((await runFixture('facets.yml', false, { out: dir })).byName('l1', 'a line and a mode').status, 'ok');
  });

  it('a read-only command runs in a check and counts as in sync; check_mode: false elsewhere still writes nothing', async () => {
    writeFileSync(join(dir, 'value'), 'abc\n');
    const { rec, byName } = await runFixture('read-only.yml', true, { out: dir });
    assert.equal(byName('l1', 'read a value').status, 'ok');
    assert.equal(byName('l1', 'read a value').check, false, 'the read-only command really ran');
    assert.equal(byName('l1', 'read with read_only').status, 'ok');
    // The later task was judged with the real output: a pending copy with the value, not "not judged".
    const use = byName('l1', 'use it');
    assert.equal(use.status, 'changed');
    assert.match(use.changes[0].after ?? JSON.stringify(use.changes), /abc ABC/);
    assert.equal(byName('l1', 'copy with check_mode false').status, 'changed');
    assert.ok(!existsSync(join(dir, 'never-in-check')), 'check_mode: false on copy wrote during a check');
    assert.ok(!existsSync(join(dir, 'copy-l1')));
    assert.equal(rec.exitCode, 2);
    // Applied, then checked: in sync, exit 0 (the read-only commands are not "would run").
    const applied = await runFixture('read-only.yml', false, { out: dir });
    assert.equal(applied.byName('l1', 'read with read_only').status, 'ok', 'read_only is never changed');
    assert.equal(readFileSync(join(dir, 'copy-l1'), 'utf8'), 'abc ABC\n');
    const again = await runFixture('read-only.yml', true, { out: dir });
    assert.equal(again.byName('l1', 'use it').status, 'ok');
  });

  it('--limit with an unknown name, or one unknown name among known ones, exits 1 naming it and writes no report', () => {
    const report = join(dir, 'prom');
    writeFileSync(report, 'previous\n');
    for (const limit of ['hv9', 'l1,l9']) {
      const r = play(['check', join(FIX, 'targets.yml'), '-i', INV, '-e', 'target=l1', '--limit', limit, '--report', `prometheus=${report}`]);
      assert.equal(r.code, 1, r.out + r.err);
      const bad = limit === 'hv9' ? 'hv9' : 'l9';
      assert.match(r.err, new RegExp(`--limit '${limit}': no host or group named '${bad}'`));
      assert.equal(readFileSync(report, 'utf8'), 'previous\n', 'the report was overwritten');
    }
    const none = play(['check', join(FIX, 'targets.yml'), '-i', INV, '-e', 'target=l1', '--limit', '!all']);
    assert.equal(none.code, 1);
  });

  it('a hosts: pattern that matches nothing is one error naming it (not undefined variables)', () => {
    const r = play(['validate', join(FIX, 'typo.yml'), '-i', INV]);
    assert.equal(r.code, 1);
    assert.match(r.err, /typo\.yml:1:3: hosts: pattern 'webs': no host or group named 'webs' \(did you mean 'web'\?\)/);
    assert.doesNotMatch(r.err, /undefined variable/);
    assert.match(r.err, /1 problem found/);
  });

  it('hosts: "{{ target }}" is rendered with -e and the inventory vars, at validation and run time alike', async () => {
    const v = play(['validate', join(FIX, 'targets.yml'), '-i', INV, '-e', 'target=l1']);
    assert.equal(v.code, 0, v.err);
    const r = play(['run', join(FIX, 'targets.yml'), '-i', INV, '-e', 'target=l1']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /extra on l1/);
    assert.doesNotMatch(r.out, /extra on l2/);
    assert.match(r.out, /inventory on l2/);
    assert.match(r.out, new RegExp(`^inventory: ${INV}$`, 'm'), 'the header names the inventory');
    const missing = play(['validate', join(FIX, 'targets.yml'), '-i', INV]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /targets\.yml:2:3: hosts: '\{\{ target \}\}' uses 'target', which is not defined before any host is chosen: pass -e target=/);
  });

  it('play schedule passes --limit, --tags, --skip-tags and -e through, with TimeoutStartSec and User=', () => {
    const r = play(['schedule', join(FIX, 'targets.yml'), '-i', INV, '--limit', 'l1', '--tags', 'a', '--skip-tags', 'b,c', '-e', 'target=l1', '--user', 'nobody', '--timeout', '10m']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /ExecStart=.* check .* --limit l1 --tags a --skip-tags b,c -e target=l1\n/);
    assert.match(r.out, /^TimeoutStartSec=10min$/m);
    assert.match(r.out, /^User=nobody$/m);
    assert.match(r.out, /^\S+ \S+ \S+ \S+ \S+ nobody cd /m);
    void statSync;
  });
});

describe('roles and includes: problems inside included files name those files', () => {
  it('import_playbook, roles, import_tasks and include loops are checked with file:line:col', () => {
    const r = play(['validate', join(FIX, 'broken', 'site.yml'), '-i', INV]);
    assert.equal(r.code, 1);
    const lines = r.err.trimEnd().split('\n');
    assert.match(lines[0], /broken\/site\.yml:1:3: import_playbook: file not found: missing\.yml/);
    assert.match(lines[1], /broken\/site\.yml:6:7: role 'nosuchrole' not found/);
    assert.match(lines[2], /^test\/fixtures\/habits\/broken\/roles\/bad\/tasks\/main\.yml:3:5: lineinfile\.path: must be an absolute path, got 'relative\/path'$/);
    assert.match(lines[3], /^test\/fixtures\/habits\/broken\/tasks\/bad\.yml:2:3: unknown module 'lineinfle' \(did you mean 'lineinfile'\?\)/);
    assert.match(lines[4], /tasks\/loop\.yml:1:3: import_tasks: .*loop\.yml' includes itself/);
    assert.equal(lines[5], '5 problems found; nothing was changed');
  });
});

describe('terminal output (listr2 tree in a real pty, 60 columns)', () => {
  const strip = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '').replace(/\r/g, '');
  it('changed rows are yellow, a failed row says failed once, the recap wraps between fields', function () {
    const dir = mkdtempSync(join(tmpdir(), 'play-tty-'));
    try {
      const pb = join(dir, 'p.yml');
      writeFileSync(pb, `- hosts: l1\n  gather_facts: false\n  tasks:\n    - copy: { dest: "${dir}/f", content: "x\\n" }\n    - copy: { dest: "${dir}/{{item.key}}", content: "{{item.value}}\\n" }\n      loop: [{key: migration_port_min, value: 49152}, {key: migration_port_max, value: 49215}]\n    - fail: msg="broken here"\n`);
      // script(1) gives the CLI a terminal, so the listr2 renderer draws the tree.
      const cmd = `stty cols 60; FORCE_COLOR=1 ${process.execPath} ${rootPath('dist', 'engine', 'cli.js')} run ${pb} -i ${INV}`;
      const raw = execFileSync('script', ['-qc', cmd, '/dev/null'], { encoding: 'utf8', env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NO_COLOR')), CI: '' } }).toString();
      assert.match(raw, /\x1b\[33mchanged: l1\x1b\[39m/, 'a changed row is yellow');
      const text = strip(raw);
      assert.equal(text.match(/failed: l1/g)?.length, 1, text);
      assert.match(text, /broken here/);
      assert.match(text, /› \[migration_port_min\]\s+\S+\/migration_port_min: create/, 'a dict item is labelled by its key');
      assert.doesNotMatch(text, /\[\{"key"/, 'loop items are not raw JSON');
      for (const line of text.split('\n').filter((l) => /^l1 |^\s+rescued=/.test(l))) assert.ok(line.length <= 60, `recap line longer than 60: '${line}'`);
      assert.match(text, /^\s+rescued=0 {2}ignored=0$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
