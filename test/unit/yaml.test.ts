import assert from 'node:assert/strict';
import { YamlDoc } from '../../engine/yaml.js';
import { ValidationError } from '../../engine/errors.js';

describe('YamlDoc positions', () => {
  const src = `# comment\n- name: play\n  hosts: all\n  vars:\n    empty:\n    b: yes\n  tasks:\n    - name: t1\n      sysctl:\n        settings:\n          a.b: 1\n    - debug: {msg: hi}\n`;
  const doc = new YamlDoc('x.yml', src);
  const play = (doc.data as any)[0];
  it('reads YAML 1.1 booleans like Ansible', () => {
    assert.equal(play.vars.b, true);
    assert.equal(play.vars.empty, null);
  });
  it('locates keys, items and nested paths', () => {
    assert.deepEqual(doc.pos(play, 'tasks'), { file: 'x.yml', line: 7, col: 3 });
    assert.deepEqual(doc.pos(play.tasks, 1), { file: 'x.yml', line: 12, col: 7 });
    assert.deepEqual(doc.posPath(play, ['tasks', 0, 'sysctl', 'settings', 'a.b']), { file: 'x.yml', line: 11, col: 11 });
    assert.deepEqual(doc.pos(play.vars, 'empty'), { file: 'x.yml', line: 5, col: 5 });
  });
  it('reports syntax errors as file:line:col', () => {
    assert.throws(() => new YamlDoc('bad.yml', 'a: b\n  c: d: e\n'), (e: unknown) => e instanceof ValidationError && /^bad\.yml:2:\d+: YAML syntax error/.test(e.message));
  });
});
