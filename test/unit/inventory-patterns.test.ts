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
  it('reports a lone bracket that splitting on : would drop (hv[1: was hv and 1, ~[ was every host)', () => {
    const cases: Array<[string, string]> = [
      ['hv[1:', "host pattern 'hv[1:': '[' in 'hv[1:' is never closed with ']' (a subscript is [N], [-N], [N:M] or [N:])"],
      ['a,hv[1:', "host pattern 'a,hv[1:': '[' in 'hv[1:' is never closed with ']' (a subscript is [N], [-N], [N:M] or [N:])"],
      ['web:hv1]', "host pattern 'web:hv1]': ']' in 'hv1]' has no opening '['"],
      ['~[', "host pattern '~[': invalid regular expression '[': Unterminated character class"],
      ['dc1:!~hv[0', "host pattern 'dc1:!~hv[0': invalid regular expression 'hv[0': Unterminated character class"],
      ['~', "host pattern '~': '~' needs a regular expression after it (e.g. '~hv0[1-3]')"],
    ];
    for (const [p, msg] of cases) assert.equal(validatePattern(p), msg);
    const inv = loadInventory([rootPath('test/fixtures/inventory/nested/hosts.yml')]);
    assert.ok(inv.select('~hv').length > 0);
    assert.deepEqual(inv.select('~['), [], 'no longer every host');
  });
  it('reports subscripts Ansible does not understand, and ranges that select nothing', () => {
    const help = 'a subscript is [N], [-N], [N:M] or [N:]';
    assert.equal(validatePattern('dc1[1:x]'), `host pattern 'dc1[1:x]': bad subscript '[1:x]' in 'dc1[1:x]': ${help}`);
    assert.equal(validatePattern('dc1[:3]'), `host pattern 'dc1[:3]': bad subscript '[:3]' in 'dc1[:3]': ${help}`);
    assert.equal(validatePattern('dc1[-1:]'), `host pattern 'dc1[-1:]': bad subscript '[-1:]' in 'dc1[-1:]': ${help}`);
    assert.equal(validatePattern('web,dc1[]'), `host pattern 'web,dc1[]': bad subscript '[]' in 'dc1[]': ${help}`);
    assert.equal(validatePattern('dc1[3:1]'), "host pattern 'dc1[3:1]': subscript '[3:1]' in 'dc1[3:1]' selects nothing: it ends before it starts");
    for (const ok of ['hv[01:20]', 'web[1:3]:db', 'dc1[0]', 'dc1[-1]', 'dc1[2:]', 'dc1[1-2]', 'hv0[12]', 'hv[a-c]', 'fe80::1', '[::1]:22', 'hv01:22', '~hv0[1-3]:!canary']) {
      assert.equal(validatePattern(ok), undefined, ok);
    }
  });
});
