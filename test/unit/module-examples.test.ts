// Every example `play modules NAME` prints is a task that validates: its module, parameters,
// templates (Handlebars, not Jinja) and keywords — as an operator would paste it into a play.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { getModule, moduleNames } from '../../modules/index.js';
import { loadPlaybook } from '../../engine/playbook/load.js';
import { ValidationError } from '../../engine/errors.js';
import { resolveModule } from '../../engine/playbook/params.js';

describe('play modules: every documented example validates', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-examples-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const name of moduleNames()) {
    it(name, () => {
      const examples = getModule(name)!.examples;
      assert.ok(examples.length > 0, `${name} documents no example`);
      examples.forEach((example, i) => {
        // An example may show what goes into the play too (`# in the play:` and play keys).
        const [task, playPart] = example.split(/\n\s*# in the play:\n/);
        // A bare mapping documents one task's module and parameters: it is pasted as a list item.
        const ex = task.replace(/^(#.*\n)+/, '').startsWith('- ') ? task : `- ${task.replace(/\n/g, '\n  ')}`;
        // A notify names a handler the operator has: give the play one of that name unless shown.
        const notified = playPart ? [] : [...ex.matchAll(/notify: (.+)$/gm)].map((m) => m[1].trim());
        const handlers = playPart ? playPart.replace(/^/gm, '  ') : notified.length ? `  handlers:\n${notified.map((n) => `    - name: ${n}\n      debug: { msg: handled }`).join('\n')}` : '';
        // Controller files an example names (copy/template src) are the operator's: stand-ins here.
        for (const m of ex.matchAll(/^\s*src: (\S+)$/gm)) {
          mkdirSync(dirname(join(dir, m[1])), { recursive: true });
          writeFileSync(join(dir, m[1]), 'stand-in {{inventory_hostname}}\n');
        }
        const play = `- hosts: all\n  gather_facts: true\n  tasks:\n${ex.replace(/^/gm, '    ')}\n${handlers}\n`;
        const file = join(dir, `${name}-${i}.yml`);
        writeFileSync(file, play);
        try {
          loadPlaybook(file);
        } catch (e) {
          if (!(e instanceof ValidationError)) throw e;
          assert.fail(`example ${i + 1} of ${name} does not validate:\n${example}\n→ ${e.message}`);
        }
      });
    });
  }
});

describe("Ansible's fully qualified module names", () => {
  it('map onto the module of the same name', () => {
    const expected: Record<string, string> = {
      'ansible.builtin.lineinfile': 'lineinfile',
      'ansible.builtin.blockinfile': 'blockinfile',
      'ansible.builtin.shell': 'shell',
      'ansible.builtin.fail': 'fail',
      'ansible.builtin.apt': 'apt',
      'ansible.builtin.package': 'package',
      'ansible.builtin.wait_for': 'wait_for',
      'ansible.posix.sysctl': 'sysctl',
      'ansible.builtin.reboot': 'reboot',
    };
    for (const [fqcn, name] of Object.entries(expected)) assert.equal(resolveModule(fqcn), name, fqcn);
    assert.equal(resolveModule('ansible.builtin.nosuch'), undefined);
  });
});
