// `mode` written unquoted: YAML turns 0644 into 644 and 0o644 into 420; the modules must take the
// first as '0644' and refuse the second instead of writing mode 0420.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml } from '../../engine/yaml.js';
import { rootPath } from '../../engine/paths.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { fileModule } from '../../modules/file/index.js';
import { copyModule } from '../../modules/copy/index.js';
import { templateModule } from '../../modules/template/index.js';
import { metaChanges, type FileStat } from '../../modules/lib/files/path-info.js';
import { modeFromInteger } from '../../modules/lib/files/mode-param.js';

/** The mode the file module would set for `mode: <yaml>`, or the schema's problems. */
function modeFor(yamlValue: string): { to?: unknown; problems: string[] } {
  const raw = parseYaml(`path: /etc/x\nstate: touch\nmode: ${yamlValue}\n`) as Record<string, unknown>;
  const problems: SchemaProblem[] = [];
  const p = validateParams(fileModule.params, raw, problems) as { mode?: string | number };
  if (problems.length) return { problems: problems.map((x) => `${x.path.join('.')}: ${x.message}`) };
  return { to: metaChanges('/etc/x', null, { mode: p.mode })[0]?.to, problems: [] };
}

const CUR: FileStat = { type: 'file', mode: '0600', owner: 'root', group: 'root', uid: 0, gid: 0, size: 1 } as FileStat;

describe('file/copy/template mode given as a YAML number', () => {
  it('0644, 644, 0600, 0755, 0640, 01777, 04755 unquoted mean what they show', () => {
    for (const [y, want] of [['0644', '0644'], ['644', '0644'], ['0600', '0600'], ['0755', '0755'], ['0640', '0640'], ['0444', '0444'], ['0711', '0711'], ['01777', '1777'], ['04755', '4755']]) {
      assert.deepEqual(modeFor(y), { to: want, problems: [] }, y);
    }
  });

  it('quoted and symbolic modes are unchanged', () => {
    assert.deepEqual(modeFor("'0644'"), { to: '0644', problems: [] });
    assert.deepEqual(modeFor("'420'"), { to: '0420', problems: [] });
    assert.deepEqual(modeFor("'u=rw,g=r,o='"), { to: '0640', problems: [] });
  });

  it('0o644 (420), 0x1a4, 0o777 (511), 888, 0 and 99999 are refused with "quote the mode"', () => {
    for (const y of ['0o644', '0x1a4', '0o777', '0o640', '0o600', '888', '0', '99999', '12.5']) {
      const r = modeFor(y);
      assert.equal(r.to, undefined, y);
      assert.equal(r.problems.length, 1, y);
      assert.match(r.problems[0], /^mode: cannot tell which mode the number \S+ means .*quote the mode, e.g. mode: '0644'$/, y);
    }
    assert.match(modeFor('[1]').problems[0], /^mode: expected a mode like '0644'/);
    assert.match(modeFor("'0999'").problems[0], /^mode: invalid file mode '0999'/);
  });

  it('no usual mode written as an octal literal (0o644) is accepted; each written as 0644 is', () => {
    // The rule's promise: no number an octal literal of a usual mode turns into is ever accepted.
    const usual = ['0644', '0640', '0600', '0755', '0750', '0700', '0444', '0440', '0400', '0664', '0660', '0775', '0770', '0777', '0711', '0555', '1777', '2755', '4755'];
    for (const m of usual) assert.equal(modeFromInteger(parseInt(m, 8)), undefined, `0o${m}`);
    // ...and the same usual modes written as YAML 1.2 decimals are all accepted.
    for (const m of usual) assert.equal(modeFromInteger(Number(m)), m, m);
  });

  it('copy and template share the rule (same schema), and an accepted number changes a file mode', () => {
    for (const mod of [copyModule, templateModule]) {
      const problems: SchemaProblem[] = [];
      validateParams(mod.params, { dest: '/etc/x', content: 'x', src: 'x.hbs', mode: 420 }, problems);
      assert.ok(problems.some((p) => p.path.join('.') === 'mode' && /quote the mode/.test(p.message)), mod.name);
    }
    assert.deepEqual(metaChanges('/etc/x', CUR, { mode: 644 }), [{ path: '/etc/x mode', target: { facet: 'mode' }, from: '0600', to: '0644' }]);
    assert.deepEqual(metaChanges('/etc/x', CUR, { mode: 600 }), []);
  });

  it('play validate reports an unquoted 0o644 at its line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-mode-'));
    try {
      writeFileSync(join(dir, 'inv.yml'), 'all:\n  hosts:\n    h1:\n      ansible_connection: local\n');
      writeFileSync(join(dir, 'pb.yml'), '- hosts: all\n  tasks:\n    - copy:\n        dest: /etc/x\n        content: x\n        mode: 0o644\n    - file: {path: /etc/y, state: touch, mode: 0644}\n');
      const r = spawnSync(process.execPath, [rootPath('dist', 'engine', 'cli.js'), 'validate', join(dir, 'pb.yml'), '-i', join(dir, 'inv.yml')], { encoding: 'utf8' });
      assert.equal(r.status, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /pb\.yml:6:\d+: copy\.mode: cannot tell which mode the number 420 means/);
      assert.match(out, /1 problem found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
