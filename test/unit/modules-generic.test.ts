import assert from 'node:assert/strict';
import { standaloneContext } from '../../engine/module/contract.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { metaChanges, parsePathInfo, resolveMode, type PathInfo } from '../../modules/lib/files/path-info.js';
import { diffFile, type FileParams } from '../../modules/file/index.js';
import { commandLine, outputData, resolveIn } from '../../modules/command/parse.js';
import { commandModule } from '../../modules/command/index.js';
import { diffContent } from '../../modules/copy/content-file.js';
import { parseServiceRead, serviceCommand } from '../../modules/service/parse.js';
import { diffService, serviceVerbs } from '../../modules/service/index.js';
import { debugModule } from '../../modules/debug/index.js';
import { setFactModule } from '../../modules/set_fact/index.js';
import { assertModule, conditions } from '../../modules/assert/index.js';
import { srcCandidates } from '../../modules/copy/local-src.js';
import { ModuleError } from '../../engine/errors.js';
import { asText } from './problems.js';

const statDir = rootPath('test/fixtures/generic/stat');
const info = (name: string, path = `/x/${name}`): PathInfo => parsePathInfo(path, readFileSync(join(statDir, `${name}.out`), 'utf8'));

describe('file parse: read-path output captured from real stat', () => {
  const expected: Record<string, { self?: string; target?: string; mode?: string; owner?: string; linkTarget?: string; parent: boolean }> = {
    file: { self: 'file', target: 'file', mode: '0640', owner: 'nobody', parent: true },
    empty: { self: 'file', target: 'file', mode: '0644', owner: 'root', parent: true },
    directory: { self: 'directory', target: 'directory', mode: '1777', owner: 'root', parent: true },
    link: { self: 'link', target: 'file', mode: '0640', owner: 'nobody', linkTarget: 'f', parent: true },
    dangling: { self: 'link', linkTarget: 'nowhere', parent: true },
    missing: { parent: true },
    'no-parent': { parent: false },
  };
  it('has a fixture for every case and no other', () => {
    assert.deepEqual(readdirSync(statDir).map((f) => f.replace(/\.out$/, '')).sort(), Object.keys(expected).sort());
  });
  for (const [name, e] of Object.entries(expected)) {
    it(name, () => {
      const i = info(name);
      assert.equal(i.self?.type, e.self);
      assert.equal(i.target?.type, e.target);
      assert.equal(i.target?.mode, e.mode);
      assert.equal(i.target?.owner, e.owner);
      assert.equal(i.linkTarget, e.linkTarget);
      assert.equal(i.parentExists, e.parent);
    });
  }
});

describe('file parse: unusual host output is a task failure naming it, not an internal error', () => {
  it('a line a profile script printed before the stat lines', () => {
    assert.throws(() => parsePathInfo('/etc/hostname', readFileSync(rootPath('test/fixtures/generic/stat-unusual/banner-first.out'), 'utf8')), (e: Error) => e instanceof ModuleError && e.message === 'stat printed "Welcome to hv01 (printed by a profile script)", not TYPE|MODE|OWNER|GROUP|UID|GID|SIZE');
  });
  it('output cut short', () => {
    assert.throws(() => parsePathInfo('/etc/x', 'missing\n'), (e: Error) => e instanceof ModuleError && e.message === 'reading /etc/x printed 2 line(s), not the 4 expected: "missing\\n"');
  });
});

describe('file parse: symbolic modes resolve exactly like chmod', () => {
  // Each case runs the real chmod on a scratch file and compares with resolveMode.
  const dir = mkdtempSync(join(tmpdir(), 'play-mode-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const cases: Array<[string, string, boolean]> = [
    ['0644', 'u=rw,g=r,o=', false],
    ['0600', 'g+r,o+r', false],
    ['0755', 'a-x', false],
    ['0644', 'a+X', false],
    ['0744', 'a+X', false],
    ['0700', 'a+X', true],
    ['0755', 'u+s,g+s,o+t', false],
    ['0640', 'go=', false],
    ['0777', 'o-w', true],
    ['0000', 'u=rwx,g=rx,o=rx', false],
    ['0644', '0600', false],
    ['0644', '750', false],
  ];
  for (const [start, sym, isDir] of cases) {
    it(`${start} ${sym}${isDir ? ' (dir)' : ''}`, () => {
      const p = join(dir, `t-${start}-${sym}-${isDir}`.replace(/[^\w-]/g, '_'));
      if (isDir) mkdirSync(p);
      else writeFileSync(p, '');
      for (const m of [start, sym]) assert.equal(spawnSync('chmod', [m, p]).status, 0);
      const real = (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');
      assert.equal(resolveMode(sym, start, isDir), real);
    });
  }
});

describe('file diffs', () => {
  const p = (x: Partial<FileParams>): FileParams => ({ path: '/x/file', state: 'file', force: false, ...x });
  const rows = (d: ReturnType<typeof diffFile>) => d.changes.map((c) => [c.path, c.from, c.to]);
  it('metadata of an existing file: only what differs, owner by name or uid', () => {
    assert.deepEqual(rows(diffFile(info('file'), p({ mode: '0644', owner: '65534', group: 'root' }))), [
      ['/x/file mode', '0640', '0644'],
      ['/x/file group', 'nogroup', 'root'],
    ]);
    assert.deepEqual(rows(diffFile(info('file'), p({ mode: 'u=rw,g=r,o=', owner: 'nobody' }))), []);
  });
  it('state file never creates; touch does, with its metadata', () => {
    assert.match(diffFile(info('missing', '/x/m'), p({ path: '/x/m' })).failures![0], /does not exist/);
    assert.deepEqual(rows(diffFile(info('missing', '/x/m'), p({ path: '/x/m', state: 'touch', mode: '0600' }))), [
      ['/x/m', undefined, 'file'],
      ['/x/m mode', undefined, '0600'],
    ]);
    assert.deepEqual(rows(diffFile(info('empty', '/x/e'), p({ path: '/x/e', state: 'touch' }))), [], 'touch of an existing file is idempotent');
  });
  it('directory over a file fails; a new directory resolves X as a directory', () => {
    assert.match(diffFile(info('file'), p({ state: 'directory' })).failures![0], /is a file, not a directory/);
    assert.deepEqual(rows(diffFile(info('missing', '/x/d'), p({ path: '/x/d', state: 'directory', mode: 'u=rwX,go=rX' }))), [
      ['/x/d', undefined, 'directory'],
      ['/x/d mode', undefined, '0755'],
    ]);
  });
  it('links: retarget, refuse to replace a file unless forced, never a directory', () => {
    assert.deepEqual(rows(diffFile(info('link', '/x/l'), p({ path: '/x/l', state: 'link', src: 'g' }))), [['/x/l link', 'f', 'g']]);
    assert.deepEqual(rows(diffFile(info('link', '/x/l'), p({ path: '/x/l', state: 'link', src: 'f' }))), []);
    assert.match(diffFile(info('file'), p({ state: 'link', src: 'g' })).failures![0], /force: true/);
    assert.deepEqual(rows(diffFile(info('file'), p({ state: 'link', src: 'g', force: true }))), [['/x/file link', 'file', 'g']]);
    assert.match(diffFile(info('directory'), p({ state: 'link', src: 'g', force: true })).failures![0], /is a directory/);
  });
  it('absent: whatever is there, dangling links included', () => {
    assert.deepEqual(rows(diffFile(info('dangling'), p({ state: 'absent' }))), [['/x/file', 'link', 'absent']]);
    assert.deepEqual(rows(diffFile(info('missing'), p({ state: 'absent' }))), []);
  });
  it('metaChanges for a path about to be created names every facet asked for', () => {
    assert.deepEqual(metaChanges('/n', null, { owner: 'root', group: 'root' }).map((c) => c.path), ['/n owner', '/n group']);
  });
});

describe('copy diffs', () => {
  const s = (cur: string | null, want: string | Buffer, name = cur === null ? 'missing' : 'empty') => ({
    info: info(name, '/x/c'),
    current: cur === null ? null : Buffer.from(cur),
    want: Buffer.isBuffer(want) ? want : Buffer.from(want),
  });
  const p = { dest: '/x/c', backup: true };
  it('a new file: create with the text for --diff', () => {
    const [c] = diffContent(s(null, 'a\n'), p).changes;
    assert.deepEqual([c.path, c.message, c.before, c.after], ['/x/c', 'create (2 bytes)', '', 'a\n']);
  });
  it('same content and metadata: nothing; metadata only: no content change', () => {
    assert.deepEqual(diffContent(s('a\n', 'a\n'), p).changes, []);
    assert.deepEqual(diffContent(s('a\n', 'a\n'), { ...p, mode: '0600' }).changes.map((c) => [c.path, c.from, c.to]), [['/x/c mode', '0644', '0600']]);
  });
  it('binary content changes without a text diff', () => {
    const [c] = diffContent(s('a\n', Buffer.from([0, 1, 2])), p).changes;
    assert.equal(c.message, 'content changes (2 bytes → 3 bytes)');
    assert.equal(c.after, undefined);
  });
  it('a directory at dest is a failure', () => {
    assert.match(diffContent({ ...s(null, 'x'), info: info('directory', '/x/c') }, p).failures![0], /is a directory/);
  });
  it('src is looked up beside the playbook first, then in the fallback dir', () => {
    assert.deepEqual(srcCandidates('t.j2', { playbook_dir: '/pb' }, '/proj/templates'), ['/pb/t.j2', '/proj/templates/t.j2']);
    assert.deepEqual(srcCandidates('/abs/t.j2', { playbook_dir: '/pb' }, '/proj/templates'), ['/abs/t.j2']);
  });
});

describe('command', () => {
  it('chdir: a failed cd stops the whole line, through a real sh', () => {
    const r = spawnSync('/bin/sh', ['-c', commandLine('echo ran; echo also', '/nonexistent-dir')], { encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.equal(r.stdout, '');
    const ok = spawnSync('/bin/sh', ['-c', commandLine('pwd', '/tmp')], { encoding: 'utf8' });
    assert.equal(ok.stdout, '/tmp\n');
  });
  it('register data strips trailing newlines and splits lines', () => {
    assert.deepEqual(outputData('x', { stdout: 'a\nb\n\n', stderr: '', code: 0 }), {
      cmd: 'x', rc: 0, signal: undefined, stdout: 'a\nb', stderr: '', stdout_lines: ['a', 'b'], stderr_lines: [],
    });
  });
  it('creates/removes resolve under chdir', () => {
    assert.equal(resolveIn('out.txt', '/srv'), '/srv/out.txt');
    assert.equal(resolveIn('/abs', '/srv'), '/abs');
  });
  it('diff: "would run" as an action, nothing when skipped', () => {
    assert.deepEqual(commandModule.diff!({ cmd: 'virsh list' }, {} as never), [{ path: 'command', message: 'would run: virsh list', done: 'ran: virsh list', action: true }]);
    assert.deepEqual(commandModule.diff!({ cmd: 'x', skipReason: 'skipped, since /a exists' }, {} as never), []);
  });
  it('validate: exactly one of cmd/argv', () => {
    assert.deepEqual(asText(commandModule.validate!({ stdin_add_newline: true })), ['cmd/argv: give exactly one of them']);
    assert.deepEqual(asText(commandModule.validate!({ cmd: 'x', argv: ['y'], stdin_add_newline: true })), ['cmd/argv: give exactly one of them']);
    assert.deepEqual(commandModule.validate!({ argv: ['y'], stdin_add_newline: true }), []);
  });
});

describe('service', () => {
  const sysv = (status: number, enabled: 0 | 1) => parseServiceRead(`init=sysv\nstatus=${status}\nenabled=${enabled}\n`);
  it('parses sysv LSB status codes', () => {
    assert.deepEqual(sysv(0, 1), { init: 'sysv', running: true, enabled: true, detail: 'status exit 0' });
    assert.equal(sysv(3, 0).running, false);
    assert.equal(sysv(1, 0).running, false);
    assert.equal(sysv(4, 0).running, undefined);
  });
  it('parses systemctl show properties, in any order', () => {
    const f = parseServiceRead('init=systemd\nUnitFileState=enabled\nLoadState=loaded\nActiveState=active\n');
    assert.deepEqual(f, { init: 'systemd', running: true, enabled: true, detail: 'enabled' });
    assert.equal(parseServiceRead('init=systemd\nLoadState=not-found\nActiveState=inactive\nUnitFileState=\n').init, 'none');
  });
  const rows = (d: ReturnType<typeof diffService>) => d.changes.map((c) => [c.path, c.from ?? c.message, c.to, !!c.action]);
  it('started/stopped/enabled converge; restarted/reloaded are actions', () => {
    assert.deepEqual(rows(diffService(sysv(3, 0), { name: 'd', state: 'started', enabled: true })), [
      ['service d enabled', false, true, false],
      ['service d', 'stopped', 'running', false],
    ]);
    assert.deepEqual(rows(diffService(sysv(0, 1), { name: 'd', state: 'started', enabled: true })), []);
    assert.deepEqual(rows(diffService(sysv(0, 1), { name: 'd', state: 'restarted' })), [['service d', 'would restart', undefined, true]]);
    assert.deepEqual(rows(diffService(sysv(0, 1), { name: 'd', state: 'reloaded' })), [['service d', 'would reload', undefined, true]]);
    assert.deepEqual(rows(diffService(sysv(3, 1), { name: 'd', state: 'reloaded' })), [['service d', 'stopped', 'running', false]]);
  });
  it('verbs in order: boot setting, then state', () => {
    const p = { name: 'd', state: 'stopped' as const, enabled: false };
    assert.deepEqual(serviceVerbs(p, diffService(sysv(0, 1), p).changes), ['disable', 'stop']);
    const r = { name: 'd', state: 'restarted' as const };
    assert.deepEqual(serviceVerbs(r, diffService(sysv(3, 0), r).changes), ['restart']);
  });
  it('clear failures: unknown service, unusable status, static unit', () => {
    assert.match(diffService({ init: 'none' }, { name: 'nope', state: 'started' }).failures![0], /no service 'nope'/);
    assert.match(diffService(sysv(4, 0), { name: 'd', state: 'started' }).failures![0], /cannot tell/);
    const stat = parseServiceRead('init=systemd\nLoadState=loaded\nActiveState=active\nUnitFileState=static\n');
    assert.match(diffService(stat, { name: 'd', enabled: true }).failures![0], /is static/);
  });
  it('commands quote the name and keep daemons off the session pipe', () => {
    assert.equal(serviceCommand('sysv', 'play-x', 'enable').includes('update-rc.d play-x defaults && update-rc.d play-x enable'), true);
    assert.match(serviceCommand('systemd', 'a b', 'start'), /systemctl start -- 'a b'/);
    // A daemon started by the command must not hold our stdout: run it for real and time it.
    const t0 = Date.now();
    const r = spawnSync('/bin/sh', ['-c', serviceCommand('sysv', 'x', 'start').replace(`/etc/init.d/x start`, '(sleep 5 &) ; echo started')], { encoding: 'utf8' });
    assert.equal(r.stdout, 'started\n');
    assert.ok(Date.now() - t0 < 2000, 'returned without waiting for the background child');
  });
});

describe('control modules: debug, set_fact, assert', () => {
  const ctx = (vars: Record<string, unknown>) => standaloneContext(undefined as never, vars, 'hv1');
  const vars = { out: { stdout_lines: ['a', 'b'], rc: 0 }, hostvars: { hv1: { ip: '198.18.22.1' } }, mtu: 9000 };
  it('debug var: paths and expressions; undefined is printed, not fatal', async () => {
    assert.deepEqual(await debugModule.control!(ctx(vars), { var: 'out.stdout_lines[1]' }), { msg: 'out.stdout_lines[1]: b', data: { 'out.stdout_lines[1]': 'b' } });
    assert.equal((await debugModule.control!(ctx(vars), { var: "hostvars['hv1'].ip" })).msg, "hostvars['hv1'].ip: 198.18.22.1");
    assert.equal((await debugModule.control!(ctx(vars), { var: 'out.stdout_lines | length' })).msg, 'out.stdout_lines | length: 2');
    assert.equal((await debugModule.control!(ctx(vars), { var: 'nope' })).msg, 'nope: VARIABLE IS NOT DEFINED!');
    assert.equal((await debugModule.control!(ctx(vars), { msg: { a: 1 } })).msg, '{\n  "a": 1\n}');
  });
  it('set_fact: every key is a fact; names are checked', async () => {
    assert.deepEqual((await setFactModule.control!(ctx({}), { a: 1, b_2: 'x' })).facts, { a: 1, b_2: 'x' });
    assert.deepEqual(asText(setFactModule.validate!({ 'bad-name': 1, ok: 2 })), ['bad-name: not a valid variable name (letters, digits, _; not starting with a digit)']);
  });
  it('assert: first false expression fails with fail_msg or the expression; all true passes', async () => {
    const p = (that: unknown, extra = {}) => ({ that, quiet: false, ...extra });
    assert.deepEqual(await assertModule.control!(ctx(vars), p(['out.rc == 0', 'mtu >= 9000'])), { msg: 'All assertions passed', data: { changed: false } });
    const bad = await assertModule.control!(ctx(vars), p(['out.rc == 0', 'mtu > 9000', 'nope']));
    assert.deepEqual([bad.failed, bad.msg], [true, 'Assertion failed: mtu > 9000']);
    assert.equal((await assertModule.control!(ctx(vars), p('mtu < 1500', { fail_msg: 'need jumbo frames' }))).msg, 'need jumbo frames');
    assert.equal((await assertModule.control!(ctx(vars), p(true, { quiet: true }))).msg, undefined);
    await assert.rejects(assertModule.control!(ctx(vars), p('undefined_thing == 1')), /undefined_thing/);
    assert.deepEqual(conditions('a, b'), ['a, b'], 'a single expression is not split on commas');
  });
});
