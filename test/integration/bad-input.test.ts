// Bad input through the real CLI on local hosts (connection: local, sudo for become): templated
// become users really switch user, a NUL from a template fails its task without a stack trace, and
// an alias bomb is refused by `play validate` in under 2 s.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { play } from './play-cli.js';

const DIR = rootPath('test', 'fixtures', 'playbooks', 'bad-input');

describe('bad input through the CLI', function () {
  this.timeout(60_000);
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'play-bad-input-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('become_user and ansible_become_user templates are rendered; a NUL from a template fails only its task', () => {
    const r = play(['run', join(DIR, 'become-run.yml'), '-i', join(DIR, 'local.ini'), '-e', `out_dir=${out}`]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(readFileSync(join(out, 'l1'), 'utf8'), 'nobody daemon\n');
    assert.equal(readFileSync(join(out, 'l2'), 'utf8'), 'nobody root\n');
    assert.match(r.out, /become-run\.yml:18:7: command\.cmd: contains a NUL byte \(\\0\): no command, argument or file can hold one/);
    assert.match(r.out, /ignored=1/);
    assert.doesNotMatch(r.out + r.err, /internal error|\n\s+at /);
  });

  it('a module validate problem only the run can see names the module and field once, at the field', () => {
    const r = play(['run', join(DIR, 'module-checks-run.yml'), '-i', join(DIR, 'local.ini')]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /module-checks-run\.yml:9:9: command\.cmd: must not be empty/);
    assert.doesNotMatch(r.out, /command: command|cmd: cmd:/);
    assert.match(r.out, /ignored=1/);
  });

  it('a templated become password is rendered to connect and masked as rendered in the output', () => {
    const r = play(['run', join(DIR, 'secret.yml'), '-i', join(DIR, 'secret.ini')]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /pw is \*{8}/);
    assert.doesNotMatch(r.out + r.err, /Sup3rSecretPw/);
  });

  for (const [what, args] of [
    ['in a playbook', ['validate', join(DIR, 'alias-bomb.yml'), '-i', join(DIR, 'inventory.ini')]],
    ['through -e @file', ['validate', join(DIR, 'whoami.yml'), '-i', join(DIR, 'inventory.ini'), '-e', `@${join(DIR, 'alias-bomb-vars.yml')}`]],
  ] as const) {
    it(`play validate refuses an alias bomb ${what} in under 2 s, at file:line:col, without a stack`, () => {
      const t0 = Date.now();
      const r = play([...args]);
      const ms = Date.now() - t0;
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /alias-bomb(-vars)?\.yml:\d+:\d+: YAML aliases expand this document to over \d+ nodes/);
      assert.doesNotMatch(r.err, /\n\s+at /);
      assert.ok(ms < 2000, `took ${ms} ms`);
    });
  }

  it('--diff on a 3 MB content change says the diff was omitted and why', () => {
    writeFileSync(join(out, 'big.src'), 'x\n'.repeat(1_500_000));
    const r = play(['run', join(DIR, 'big-copy.yml'), '-i', join(DIR, 'local.ini'), '-e', `out_dir=${out}`, '--diff']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, new RegExp(`diff of ${out}/big\\.out omitted: new content: 3000000 bytes, over the 1048576-byte limit for diffs`));
    assert.equal(readFileSync(join(out, 'big.out'), 'utf8').length, 3_000_000);
  });

  it('an ini file already holding a NUL byte is refused with the reason, and left as it was', () => {
    const before = Buffer.from('[main]\nkey = a\0b\n');
    writeFileSync(join(out, 'x.ini'), before);
    const r = play(['run', join(DIR, 'ini-binary.yml'), '-i', join(DIR, 'local.ini'), '-e', `out_dir=${out}`]);
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.out, new RegExp(`${out}/x\\.ini is not a text file this module can edit: binary content \\(it holds NUL bytes\\)`));
    assert.deepEqual(readFileSync(join(out, 'x.ini')), before);
  });

  // Every bad input of issue 8 §3 through `play validate`: exit 1, each problem at file:line:col
  // (connection variables at the inventory file and host), in under 2 s, never a stack trace.
  for (const [playbook, inventory, extra, count] of [
    ['control-chars.yml', 'inventory.ini', [], 6],
    ['names.yml', 'inventory.ini', [], 11],
    ['known-values.yml', 'inventory.ini', ['-e', 'from_e=70000'], 5],
    ['become.yml', 'inventory.ini', ['-e', 'dba=postgres'], 3],
    ['become-known.yml', 'inventory.ini', [], 3],
    ['inventory-values.yml', 'inventory-values.ini', [], 2],
    ['whoami.yml', 'connection.ini', [], 4],
  ] as const) {
    it(`play validate ${playbook} -i ${inventory}: ${count} problems, positioned, under 2 s, no stack`, () => {
      const t0 = Date.now();
      const r = play(['validate', join(DIR, playbook), '-i', join(DIR, inventory), ...extra]);
      const ms = Date.now() - t0;
      assert.equal(r.code, 1, r.out + r.err);
      const problems = r.err.trimEnd().split('\n').slice(0, -1);
      assert.equal(problems.length, count, r.err);
      for (const p of problems) assert.match(p, inventory === 'connection.ini' ? /connection\.ini: host h\d: / : /\.yml:\d+:\d+: /);
      assert.match(r.err, new RegExp(`${count} problems found; nothing was changed\n$`));
      assert.doesNotMatch(r.err, /\n\s+at |internal error/);
      assert.ok(ms < 2000, `took ${ms} ms`);
    });
  }

  it('play validate refuses a NUL in a parameter at file:line:col and writes nothing', () => {
    const r = play(['validate', join(DIR, 'control-chars.yml'), '-i', join(DIR, 'inventory.ini')]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /control-chars\.yml:9:9: ini\.value: contains a NUL byte/);
    assert.deepEqual(readdirSync(out), []);
  });
});
