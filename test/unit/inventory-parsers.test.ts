// INI values, host-line tokens and host ranges against what the real Ansible produced for the
// same input (test/fixtures/inventory/capture.py, run with Debian's ansible-core).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { pythonLiteral } from '../../engine/inventory/python-literal.js';
import { shlexSplit } from '../../engine/inventory/shlex.js';
import { expandHostPattern } from '../../engine/inventory/host-range.js';

const captured = <T>(name: string): T[] => JSON.parse(readFileSync(rootPath('test/fixtures/inventory/captured', name), 'utf8')) as T[];

describe('inventory: INI values typed like ast.literal_eval', () => {
  for (const c of captured<{ text: string; value: unknown }>('ini-values.json')) {
    it(JSON.stringify(c.text), () => assert.deepEqual(pythonLiteral(c.text), c.value));
  }
});

describe('inventory: host lines split like shlex', () => {
  for (const c of captured<{ line: string; tokens?: string[]; error?: string }>('shlex.json')) {
    it(JSON.stringify(c.line), () => {
      if (c.error) assert.throws(() => shlexSplit(c.line), new RegExp(c.error));
      else assert.deepEqual(shlexSplit(c.line), c.tokens);
    });
  }
});

describe('inventory: host ranges and ports', () => {
  for (const c of captured<{ pattern: string; hosts?: string[]; port?: number | null; error?: string }>('host-ranges.json')) {
    it(c.pattern, () => {
      if (c.error) assert.throws(() => expandHostPattern(c.pattern));
      else assert.deepEqual(expandHostPattern(c.pattern), { hosts: c.hosts, port: c.port ?? undefined });
    });
  }
  it('refuses a range that would expand to an absurd number of hosts', () => {
    assert.throws(() => expandHostPattern('h[0:9999999]', 1000), /more than 1000 hosts/);
  });
});
