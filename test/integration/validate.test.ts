// `play validate` and `play run` through the real CLI on real local hosts (connection: local):
// the reviewer's cases must stop before the first task, and a valid multi-play run must work.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { play } from './play-cli.js';

const FIX = rootPath('test', 'fixtures', 'playbooks', 'cli');
const INV = join(FIX, 'inventory.ini');

describe('validate: problems surface before any host is touched', function () {
  this.timeout(60_000);
  let out: string;
  beforeEach(() => (out = mkdtempSync(join(tmpdir(), 'play-validate-'))));
  afterEach(() => rmSync(out, { recursive: true, force: true }));

  it('a missing template src fails `play run` before the first task writes anything', () => {
    const r = play(['run', join(FIX, 'template-missing.yml'), '-i', INV, '-e', `out_dir=${out}`]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /template-missing\.yml:5:18: template\.src: 'missing\.hbs' not found \(looked in .*cli\/missing\.hbs, .*\/templates\/missing\.hbs\)/);
    assert.deepEqual(readdirSync(out), [], 'nothing was written');
  });

  it('a variable defined on only some hosts fails `play run` before the first task, naming the hosts lacking it', () => {
    const r = play(['run', join(FIX, 'some-hosts.yml'), '-i', INV, '-e', `out_dir=${out}`]);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /some-hosts\.yml:5:15: undefined variable 'only_on_l1' on 1 of 2 hosts \(l2\)/);
    assert.deepEqual(readdirSync(out), []);
    // --limit to the host that has it: valid, and it runs.
    const ok = play(['run', join(FIX, 'some-hosts.yml'), '-i', INV, '-e', `out_dir=${out}`, '--limit', 'l1']);
    assert.equal(ok.code, 0, ok.out + ok.err);
    assert.deepEqual(readdirSync(out), ['first-l1']);
  });

  it('bad connection variables fail `play validate` with the inventory file and host', () => {
    const r = play(['validate', join(FIX, 'some-hosts.yml'), '-i', join(FIX, 'bad-port.ini'), '-e', `out_dir=${out}`, '-e', 'only_on_l1=1']);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /bad-port\.ini: host l3: ansible_port must be a port number 1-65535, got 'abc'/);
    assert.match(r.err, /bad-port\.ini: host l3: ansible_become must be a boolean, got 'maybe'/);
    assert.doesNotMatch(r.err, /host l1/);
  });

  it('a fact and a registered result of play 1 are valid in play 2, and really there at run time', () => {
    const v = play(['validate', join(FIX, 'carried.yml'), '-i', INV, '-e', `out_dir=${out}`]);
    assert.equal(v.code, 0, v.out + v.err);
    const r = play(['run', join(FIX, 'carried.yml'), '-i', INV, '-e', `out_dir=${out}`]);
    assert.equal(r.code, 0, r.out + r.err);
    for (const h of ['l1', 'l2']) assert.equal(readFileSync(join(out, `carried-${h}`), 'utf8'), '42 hi\n');
    assert.ok(!existsSync(join(out, 'second')));
  });
});
