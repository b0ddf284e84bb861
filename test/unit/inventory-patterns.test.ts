// Host patterns: the hosts Ansible's InventoryManager.get_hosts returned for the same inventory
// and pattern (captured by test/fixtures/inventory/capture.py), in the same order.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { loadInventory, validatePattern } from '../../engine/inventory/index.js';
import { splitPattern, globToRegExp } from '../../engine/inventory/patterns.js';

type Captured = Record<string, Record<string, string[] | { error: string }>>;
const captured = JSON.parse(readFileSync(rootPath('test/fixtures/inventory/captured/patterns.json'), 'utf8')) as Captured;

describe('inventory patterns match Ansible', () => {
  for (const [source, cases] of Object.entries(captured)) {
    const inv = loadInventory([rootPath(source)]);
    for (const [pattern, expected] of Object.entries(cases)) {
      it(`${source.split('/').pop()}: ${pattern}`, () => {
        // Ansible aborts on an out-of-range subscript; we select nothing and let the caller warn.
        assert.deepEqual(inv.select(pattern), Array.isArray(expected) ? expected : []);
      });
    }
  }
});

describe('inventory pattern syntax', () => {
  it('splits on commas, or on colons outside ranges and addresses', () => {
    assert.deepEqual(splitPattern('a:b:&c:!d'), ['a', 'b', '&c', '!d']);
    assert.deepEqual(splitPattern('a, b ,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitPattern('hv[01:20]'), ['hv[01:20]']);
    assert.deepEqual(splitPattern('web[1:3]:db'), ['web[1:3]', 'db']);
    assert.deepEqual(splitPattern('fe80::1'), ['fe80::1']);
  });
  it('translates globs like fnmatch', () => {
    assert.ok(globToRegExp('hv[!0]*').test('hv1x'));
    assert.ok(!globToRegExp('hv[!0]*').test('hv0x'));
    assert.ok(globToRegExp('a.b').test('a.b') && !globToRegExp('a.b').test('axb'));
    assert.ok(globToRegExp('[').test('['));
  });
  it('reports patterns that cannot work', () => {
    assert.equal(validatePattern('hypervisors:!dc1'), undefined);
    assert.equal(validatePattern('~hv0[1-3]'), undefined);
    assert.match(validatePattern('~hv(') ?? '', /invalid regular expression 'hv\('/);
    assert.match(validatePattern('web:!') ?? '', /'!' needs a name after it/);
    assert.match(validatePattern('  ') ?? '', /empty host pattern/);
  });
});
