import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { getKeys, setKeys } from '../../modules/ini/parse.js';
import { diffIni, iniModule, wantedKeys, type IniParams } from '../../modules/ini/index.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import type { PathInfo } from '../../modules/lib/files/path-info.js';
import { asText } from './problems.js';

// Real files: Debian 12's libvirt qemu.conf (no sections, `#key = value` defaults) and
// systemd's journald.conf ([Journal], `#Key=value` defaults, no spaces).
const qemuConf = readFileSync(rootPath('test/fixtures/generic/qemu.conf'), 'utf8');
const journald = readFileSync(rootPath('test/fixtures/generic/journald.conf'), 'utf8');

/** Indexes of the lines that differ; asserts both texts have the same number of lines. */
function changedLines(a: string, b: string): number[] {
  const la = a.split('\n');
  const lb = b.split('\n');
  assert.equal(lb.length, la.length, 'line count changed');
  return la.flatMap((l, i) => (l === lb[i] ? [] : [i]));
}

describe('ini setKeys on real qemu.conf (no sections)', () => {
  it('replaces a commented default in place and leaves every other byte alone', () => {
    const r = setKeys(qemuConf, { migration_port_min: '49200' });
    assert.deepEqual(r.changes, [{ key: 'migration_port_min', to: '49200' }]);
    const idx = qemuConf.split('\n').indexOf('#migration_port_min = 49152');
    assert.ok(idx > 0);
    assert.deepEqual(changedLines(qemuConf, r.text), [idx]);
    assert.equal(r.text.split('\n')[idx], 'migration_port_min = 49200');
  });

  it('is idempotent: a second edit changes nothing', () => {
    const once = setKeys(qemuConf, { migration_port_min: '49200', migration_address: '"198.18.22.1"' }).text;
    const twice = setKeys(once, { migration_port_min: '49200', migration_address: '"198.18.22.1"' });
    assert.deepEqual(twice.changes, []);
    assert.equal(twice.text, once);
  });

  it('updates an active key in place, keeping its spacing', () => {
    const once = setKeys(qemuConf, { max_files: '0' }).text;
    const r = setKeys(once, { max_files: '32768' });
    assert.deepEqual(r.changes, [{ key: 'max_files', from: '0', to: '32768' }]);
    const lines = changedLines(once, r.text);
    assert.equal(lines.length, 1);
    assert.equal(r.text.split('\n')[lines[0]], 'max_files = 32768');
  });

  it('appends a key with no commented default at the end, keeping the final newline', () => {
    const r = setKeys(qemuConf, { play_marker: '1' });
    assert.equal(r.text, qemuConf + 'play_marker = 1\n');
  });

  it('removes an active key, never a comment', () => {
    const set = setKeys(qemuConf, { migration_port_max: '49300' }).text;
    const r = setKeys(set, { migration_port_max: null });
    assert.deepEqual(r.changes, [{ key: 'migration_port_max', from: '49300' }]);
    assert.equal(r.text.split('\n').length, qemuConf.split('\n').length - 1);
    assert.ok(r.text.includes('#migration_port_min = 49152'));
    assert.deepEqual(setKeys(qemuConf, { migration_port_max: null }).changes, [], 'a commented key is already absent');
  });
});

describe('ini setKeys on real journald.conf ([Journal])', () => {
  it('replaces #Storage=auto by Storage=volatile with the comment\'s own spacing', () => {
    const r = setKeys(journald, { Storage: 'volatile' }, { section: 'Journal' });
    const lines = changedLines(journald, r.text);
    assert.equal(lines.length, 1);
    assert.equal(r.text.split('\n')[lines[0]], 'Storage=volatile');
  });

  it('no_extra_spaces: false forces `key = value` on new lines', () => {
    const r = setKeys(journald, { Storage: 'volatile' }, { section: 'Journal', noExtraSpaces: false });
    assert.ok(r.text.includes('\nStorage = volatile\n'));
  });

  it('creates a missing section at the end after a blank line', () => {
    const r = setKeys(journald, { Foo: 'bar' }, { section: 'Play' });
    assert.equal(r.text, journald + '\n[Play]\nFoo = bar\n');
  });

  it('a key of another section is not this section\'s key', () => {
    const text = '[a]\nx = 1\n\n[b]\ny = 2\n';
    const r = setKeys(text, { x: '5' }, { section: 'b' });
    assert.equal(r.text, '[a]\nx = 1\n\n[b]\ny = 2\nx = 5\n');
    assert.deepEqual(r.changes, [{ key: 'x', to: '5' }]);
  });
});

describe('ini setKeys edge cases', () => {
  const table: Array<{ name: string; text: string; settings: Record<string, string | null>; section?: string | null; nes?: boolean; want: string }> = [
    { name: 'appends at the end of its section, before the blank line and the next header', text: '[a]\nx = 1\n\n[b]\ny = 2\n', settings: { z: '3' }, section: 'a', want: '[a]\nx = 1\nz = 3\n\n[b]\ny = 2\n' },
    { name: 'keeps a missing final newline', text: 'a = 1', settings: { b: '2' }, want: 'a = 1\nb = 2' },
    { name: 'keeps CRLF line endings', text: 'a = 1\r\n# c\r\n', settings: { a: '9', b: '2' }, want: 'a = 9\r\n# c\r\nb = 2\r\n' },
    { name: 'creates content for an empty file', text: '', settings: { a: '1' }, want: 'a = 1\n' },
    { name: 'follows the file: no spaces when its keys have none', text: 'a=1\n', settings: { b: '2' }, want: 'a=1\nb=2\n' },
    { name: 'no_extra_spaces true', text: 'a = 1\n', settings: { b: '2' }, nes: true, want: 'a = 1\nb=2\n' },
    { name: 'global keys go before the first section', text: '# top\n\n[s]\nk = v\n', settings: { g: '1' }, section: null, want: '# top\ng = 1\n\n[s]\nk = v\n' },
    { name: 'updates every duplicate of a key', text: 'a = 1\nb = 0\na = 2\n', settings: { a: '3' }, want: 'a = 3\nb = 0\na = 3\n' },
    { name: '`# key = v` and `;key=v` are commented defaults too', text: '# a = 1\n;b=2\n', settings: { a: 'x', b: 'y' }, want: 'a = x\nb=y\n' },
    { name: 'regex characters in a key are literal', text: '#a.b = 1\n#aXb = 2\n', settings: { 'a.b': '5' }, want: 'a.b = 5\n#aXb = 2\n' },
    { name: 'indented keys keep their indent and trailing spaces', text: '[s]\n  a = 1  \n', settings: { a: '2' }, section: 's', want: '[s]\n  a = 2  \n' },
    { name: 'values containing = are kept whole', text: 'opts = "a=b"\n', settings: { opts: '"a=c"' }, want: 'opts = "a=c"\n' },
    { name: 'removing the only line of a file', text: 'a = 1\n', settings: { a: null }, want: '' },
  ];
  for (const t of table) {
    it(t.name, () => {
      const r = setKeys(t.text, t.settings, { section: t.section, noExtraSpaces: t.nes });
      assert.equal(r.text, t.want);
      assert.deepEqual(setKeys(r.text, t.settings, { section: t.section, noExtraSpaces: t.nes }).changes, [], 'second edit must be empty');
    });
  }

  it('getKeys reads one section (last occurrence wins)', () => {
    const text = 'g = 0\n[a]\nx = 1\nx = 2\n[b]\nx = 3\n';
    assert.deepEqual([...getKeys(text, 'a')], [['x', '2']]);
    assert.deepEqual([...getKeys(text)], [['g', '0']]);
  });
});

describe('ini module diff', () => {
  const info = (exists: boolean): PathInfo => ({
    path: '/etc/x.conf',
    self: exists ? { type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: 1 } : null,
    target: exists ? { type: 'file', mode: '0644', owner: 'root', group: 'root', uid: 0, gid: 0, size: 1 } : null,
    parentExists: true,
  });
  const base: IniParams = { path: '/etc/x.conf', state: 'present', create: true, backup: true };

  it('one change per key, named with the section, the whole file on the first one only', () => {
    const d = diffIni({ info: info(true), text: '[s]\na = 1\n' }, { ...base, section: 's', settings: { a: 2, b: 'x' } });
    assert.deepEqual(d.changes.map((c) => [c.path, c.from, c.to]), [['/etc/x.conf [s] a', '1', '2'], ['/etc/x.conf [s] b', undefined, 'x']]);
    assert.equal(d.changes[0].after, '[s]\na = 2\nb = x\n');
    assert.equal(d.changes[1].after, undefined);
  });

  it('metadata is a separate facet; in sync = no changes', () => {
    const d = diffIni({ info: info(true), text: 'a = 1\n' }, { ...base, option: 'a', value: '1', mode: '0600' });
    assert.deepEqual(d.changes.map((c) => [c.path, c.from, c.to]), [['/etc/x.conf mode', '0644', '0600']]);
  });

  it('create: false on a missing file is a failure; state absent on a missing file is nothing', () => {
    assert.deepEqual(diffIni({ info: info(false), text: null }, { ...base, create: false, option: 'a', value: '1' }).failures, [
      '/etc/x.conf does not exist and create is false',
    ]);
    assert.deepEqual(diffIni({ info: info(false), text: null }, { ...base, state: 'absent', option: 'a' }).changes, []);
  });

  it('state absent turns every value into a removal; null in settings removes one key', () => {
    assert.deepEqual(wantedKeys({ ...base, state: 'absent', settings: { a: 1, b: 2 } }), { a: null, b: null });
    assert.deepEqual(wantedKeys({ ...base, option: 'a', value: '1', settings: { b: null } }), { a: '1', b: null });
  });
});

// qemu.conf lists may span lines (`key = [` … `]`); the value is every line until the brackets
// balance. Real Debian 12 qemu.conf with its commented cgroup_device_acl block made active.
describe('ini setKeys on multi-line qemu.conf lists', () => {
  const debian = readFileSync(rootPath('test/fixtures/qemu_conf/debian12-qemu.conf'), 'utf8');
  const lines = debian.split('\n');
  const start = lines.indexOf('#cgroup_device_acl = [');
  const end = lines.indexOf('#]', start) + 1;
  assert.ok(start > 0 && end - start === 5, 'fixture has the 5-line commented cgroup_device_acl');
  const block = lines.slice(start, end).map((l) => l.slice(1));
  const active = [...lines.slice(0, start), ...block, ...lines.slice(end)].join('\n');
  const without = (n: string[]) => [...lines.slice(0, start), ...n, ...lines.slice(end)].join('\n');
  const acl = block.join('\n').slice('cgroup_device_acl = '.length);

  it('reads the whole list as the value; its lines are not keys', () => {
    const keys = getKeys(active);
    assert.equal(keys.get('cgroup_device_acl'), acl);
    assert.deepEqual([...keys.keys()], ['cgroup_device_acl']);
  });

  it('replacing the list replaces all its lines, every other byte identical', () => {
    const r = setKeys(active, { cgroup_device_acl: '[ "/dev/null", "/dev/kvm" ]' });
    assert.equal(r.text, without(['cgroup_device_acl = [ "/dev/null", "/dev/kvm" ]']));
    assert.deepEqual(r.changes, [{ key: 'cgroup_device_acl', from: acl, to: '[ "/dev/null", "/dev/kvm" ]' }]);
    assert.deepEqual(setKeys(r.text, { cgroup_device_acl: '[ "/dev/null", "/dev/kvm" ]' }).changes, []);
  });

  it('removing the list removes all its lines', () => {
    const r = setKeys(active, { cgroup_device_acl: null });
    assert.equal(r.text, without([]));
    assert.deepEqual(r.changes, [{ key: 'cgroup_device_acl', from: acl }]);
  });

  it('the same list on one line, other quotes and spacing, is in sync', () => {
    const same = `['/dev/null','/dev/full','/dev/zero','/dev/random','/dev/urandom','/dev/ptmx','/dev/kvm']`;
    assert.deepEqual(setKeys(active, { cgroup_device_acl: same }), { text: active, changes: [] });
    const other = same.replace(",'/dev/kvm'", '');
    assert.equal(setKeys(active, { cgroup_device_acl: other }).changes.length, 1, 'one item less is a change');
  });

  it('a list continued after its first item (namespaces) is replaced whole', () => {
    const text = debian.replace('#namespaces = [ "mount" ]\n', 'namespaces = [ "mount",\n  "uts" ]\n');
    const r = setKeys(text, { namespaces: '[ "mount" ]' });
    assert.equal(r.text, debian.replace('#namespaces = [ "mount" ]\n', 'namespaces = [ "mount" ]\n'));
    assert.equal(setKeys(text, { namespaces: null }).text, debian.replace('#namespaces = [ "mount" ]\n', ''));
  });

  it('a value with newlines is written with the file\'s line endings', () => {
    const r = setKeys('a = [\r\n  "x",\r\n]\r\nb = 1\r\n', { a: '[\n  "y"\n]' });
    assert.equal(r.text, 'a = [\r\n  "y"\r\n]\r\nb = 1\r\n');
    assert.deepEqual(setKeys(r.text, { a: '[\n  "y"\n]' }).changes, []);
  });

  it('brackets inside strings and comments do not count; an unclosed list is one line', () => {
    assert.equal(setKeys('a = [ "]", # ]\n  "b" ]\nc = 1\n', { a: '[]' }).text, 'a = []\nc = 1\n');
    assert.equal(setKeys('a = [ "x",\nc = 1\n', { a: '[]' }).text, 'a = []\nc = 1\n');
  });
});

describe('ini value comparison and quoting', () => {
  it('qemu.conf: the same string in the other quote style is in sync', () => {
    const text = 'migration_address = "198.18.22.1"\n';
    assert.deepEqual(setKeys(text, { migration_address: "'198.18.22.1'" }).changes, []);
    assert.deepEqual(setKeys("x = 'a'\n", { x: '"a"' }).changes, []);
  });

  it('quoted and unquoted, or different content, still differ', () => {
    assert.equal(setKeys('x = "1"\n', { x: '1' }).text, 'x = 1\n');
    assert.equal(setKeys('x = "a"\n', { x: "'b'" }).text, "x = 'b'\n");
    // Shell-style files (/etc/default/*): "$x" and '$x' are not the same value.
    assert.equal(setKeys('x = "$HOME"\n', { x: "'$HOME'" }).text, "x = '$HOME'\n");
  });

  it('in a file with [sections] (plain ini) quotes are part of the value', () => {
    assert.equal(setKeys('[s]\nx = "a"\n', { x: "'a'" }, { section: 's' }).text, "[s]\nx = 'a'\n");
  });
});

describe('ini validation refuses what would change the file structure', () => {
  const check = (raw: Record<string, unknown>) => {
    const problems: SchemaProblem[] = [];
    const p = validateParams(iniModule.params, { path: '/etc/x.ini', ...raw }, problems) as unknown as IniParams;
    assert.deepEqual(problems, []);
    return asText(iniModule.validate!(p));
  };
  const lb = 'must be a single line (it contains a line break, which would add lines to the file)';
  it('a line break in value, option, section or a settings key/value', () => {
    // The reviewer's repro: value "2\nevil = 1" set a second key.
    assert.deepEqual(check({ section: 'a', option: 'x', value: '2\nevil = 1' }), [`value: ${lb}`]);
    assert.deepEqual(check({ option: 'x\r', value: '1' }), [`option: ${lb}`]);
    assert.deepEqual(check({ section: 'a]\n[b', option: 'x', value: '1' }), [`section: ${lb}`]);
    assert.deepEqual(check({ settings: { ok: 'yes', 'k\n': 1, v: 'a\r\nb = 2' } }), [`settings.k\n: ${lb}`, `settings.v: ${lb}`]);
  });
  it('keys with =, a leading [ # ; or outer spaces; sections with brackets or outer spaces', () => {
    assert.deepEqual(check({ settings: { 'a=b': 1, '[s]': 1, '#x': 1, ';x': 1, ' x': 1, '': 1 } }), [
      'settings.a=b: key "a=b" cannot contain \'=\' (it would end the key there)',
      'settings.[s]: key "[s]" cannot start with \'[\' (it would read as a section header)',
      'settings.#x: key "#x" cannot start with \'#\' (it would read as a comment)',
      'settings.;x: key ";x" cannot start with \';\' (it would read as a comment)',
      'settings. x: key " x" cannot start or end with whitespace',
      'settings.: a key cannot be empty',
    ]);
    assert.deepEqual(check({ section: 'a]b', option: 'x', value: '1' }), ['section: section "a]b" cannot contain \'[\' or \']\' (write the name without brackets)']);
    assert.deepEqual(check({ section: ' a', option: 'x', value: '1' }), ['section: section " a" cannot start or end with whitespace']);
    assert.deepEqual(check({ section: '', option: 'x', value: '1' }), ['section: a section name cannot be empty (leave section unset for keys outside any section)']);
  });
  it('accepts ordinary keys, PHP-style key[] and values with = # [ ]', () => {
    assert.deepEqual(check({ section: 'Journal', settings: { Storage: 'volatile', 'extension[]': 'x.so', opts: 'a=b # [c]' } }), []);
    assert.deepEqual(check({ option: 'migration_address', value: '"198.18.24.1"' }), []);
  });
});
