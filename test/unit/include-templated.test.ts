// An include's file name may be a template of -e extra vars (evacuate-host.yml takes the
// operator's maintenance tasks that way): rendered when the playbook is loaded, before any host.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPlaybook } from '../../engine/playbook/load.js';
import { ValidationError } from '../../engine/errors.js';
import type { Block, Task } from '../../engine/playbook/types.js';

describe('include_tasks with a templated file name', () => {
  let dir: string;
  let pb: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-include-'));
    writeFileSync(join(dir, 'default.yml'), '- name: from the default\n  debug: { msg: d }\n');
    writeFileSync(join(dir, 'operator.yml'), '- name: from the operator\n  debug: { msg: o }\n');
    pb = join(dir, 'site.yml');
    writeFileSync(pb, `- hosts: all\n  tasks:\n    - include_tasks: "{{default maint 'default.yml'}}"\n`);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const taskNames = (extraVars?: Record<string, unknown>) =>
    loadPlaybook(pb, { extraVars }).plays[0].tasks.flatMap((n) => ((n as Block).block ?? [n]).map((t) => (t as Task).name));

  it('takes the default without -e, and the file -e names (absolute, or relative to the playbook)', () => {
    assert.deepEqual(taskNames(), ['from the default']);
    assert.deepEqual(taskNames({ maint: 'operator.yml' }), ['from the operator']);
    assert.deepEqual(taskNames({ maint: join(dir, 'operator.yml') }), ['from the operator']);
  });

  it('a missing file names what the template rendered to, at the include', () => {
    assert.throws(
      () => taskNames({ maint: 'nope.yml' }),
      (e: unknown) => e instanceof ValidationError && /site\.yml:3:\d+: include_tasks: file not found: nope\.yml \(from \{\{default maint 'default\.yml'\}\}\)/.test(e.message),
    );
  });

  it('a variable other than -e is refused with the reason', () => {
    writeFileSync(pb, `- hosts: all\n  tasks:\n    - include_tasks: "{{ inventory_hostname }}.yml"\n`);
    assert.throws(
      () => taskNames(),
      (e: unknown) => e instanceof ValidationError && /site\.yml:3:\d+: include_tasks: a templated file name may use only -e extra vars/.test(e.message),
    );
  });
});
