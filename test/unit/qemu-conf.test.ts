import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { parseConf, parseValue, renderValue, setKeys } from '../../modules/qemu_conf/parse.js';
import { qemuConf } from '../../modules/qemu_conf/index.js';
import { ModuleError } from '../../engine/errors.js';
import { normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { asText } from './problems.js';

// Debian 12's /etc/libvirt/qemu.conf, from libvirt-daemon-system 9.0.0-4+deb12u2 (dpkg-deb -x).
const DEBIAN = readFileSync(rootPath('test/fixtures/qemu_conf/debian12-qemu.conf'), 'utf8');
const lines = (s: string) => s.split('\n');
const lineOf = (text: string, start: string) => lines(text).findIndex((l) => l.startsWith(start));

describe('qemu_conf editor on Debian 12 qemu.conf', () => {
  const settings = {
    migrate_tls_x509_cert_dir: '/etc/pki/libvirt-migrate',
    migrate_tls_force: 1,
    migration_port_min: 49152,
    play_new_key: 'x',
  };
  const edited = setKeys(DEBIAN, settings);

  it('replaces each commented default in place and keeps every other line byte-identical', () => {
    const before = lines(DEBIAN);
    const after = lines(edited);
    const replaced = new Map([
      [lineOf(DEBIAN, '#migrate_tls_x509_cert_dir ='), 'migrate_tls_x509_cert_dir = "/etc/pki/libvirt-migrate"'],
      [lineOf(DEBIAN, '#migrate_tls_force ='), 'migrate_tls_force = 1'],
      [lineOf(DEBIAN, '#migration_port_min ='), 'migration_port_min = 49152'],
    ]);
    for (const i of replaced.keys()) assert.ok(i > 0);
    // The file ends with a newline: the last split element is '' in both.
    assert.equal(after.length, before.length + 1);
    for (let i = 0; i < before.length - 1; i++) {
      assert.equal(after[i], replaced.get(i) ?? before[i], `line ${i + 1}`);
    }
    assert.equal(after[before.length - 1], 'play_new_key = "x"');
    assert.equal(after[before.length], '');
  });

  it('is idempotent: applying the same settings again changes no byte', () => {
    assert.equal(setKeys(edited, settings), edited);
  });

  it('updates an existing active line (every occurrence) and keeps its trailing comment', () => {
    const text = 'a = 1\nmigrate_tls_force = 0   # set by ops\n# x\nmigrate_tls_force=0\n';
    assert.equal(setKeys(text, { migrate_tls_force: 1 }), 'a = 1\nmigrate_tls_force = 1 # set by ops\n# x\nmigrate_tls_force = 1\n');
  });

  it('leaves an active line alone when it already holds the value in another spelling', () => {
    const text = "migrate_tls_x509_cert_dir='/etc/pki/x'\nmigrate_tls_force=1\n";
    assert.equal(setKeys(text, { migrate_tls_x509_cert_dir: '/etc/pki/x', migrate_tls_force: true }), text);
  });

  it('replaces a commented multi-line list default whole, and an active multi-line list', () => {
    const out = setKeys(DEBIAN, { cgroup_device_acl: ['/dev/null', '/dev/kvm'] });
    const i = lineOf(DEBIAN, '#cgroup_device_acl = [');
    assert.deepEqual(lines(out).slice(i - 1, i + 3), [lines(DEBIAN)[i - 1], 'cgroup_device_acl = [ "/dev/null", "/dev/kvm" ]', '#', lines(DEBIAN)[i + 6]]);
    assert.equal(lines(out).length, lines(DEBIAN).length - 4);
    const active = 'x = 1\nnamespaces = [ "mount",\n  "uts" ]\ny = 2';
    assert.equal(setKeys(active, { namespaces: [] }), 'x = 1\nnamespaces = [ ]\ny = 2');
  });

  it('does not take prose for a default (#       user = "qemu")', () => {
    const out = setKeys(DEBIAN, { user: 'root' });
    assert.equal(lines(out)[lineOf(DEBIAN, '#user =')], 'user = "root"');
    assert.ok(out.includes('#       user = "qemu"   # A user named "qemu"'));
  });

  it('appends to a file without a final newline and to an empty file', () => {
    assert.equal(setKeys('a = 1', { b: 2 }), 'a = 1\nb = 2\n');
    assert.equal(setKeys('', { b: 'x' }), 'b = "x"\n');
  });
});

describe('qemu_conf values', () => {
  const table: Array<[unknown, string]> = [
    ['/etc/pki/libvirt-migrate', '"/etc/pki/libvirt-migrate"'],
    [1, '1'],
    [0, '0'],
    [true, '1'],
    [false, '0'],
    [['cpu', 'devices'], '[ "cpu", "devices" ]'],
    [[], '[ ]'],
    ['say "hi"', `'say "hi"'`],
  ];
  for (const [v, text] of table) {
    it(`renders ${JSON.stringify(v)} as ${text} and reads it back`, () => {
      assert.equal(renderValue(v), text);
      const back = parseValue(text);
      assert.equal(renderValue(back), text);
    });
  }
  it('refuses what qemu.conf cannot hold', () => {
    assert.throws(() => renderValue(1.5), /fractional/);
    assert.throws(() => renderValue('a\nb'), /newline/);
    assert.throws(() => renderValue({ a: 1 }), /must be a string/);
  });
  it('parses the active settings libvirt would see (first assignment wins)', () => {
    const conf = parseConf('# c\nuser = "root"\ncgroup_controllers = [ ]\nmigration_port_min=49152 # c\nuser = "other"\nbad = "unterminated\n');
    assert.equal(conf.get('user')?.value, 'root');
    assert.deepEqual(conf.get('cgroup_controllers')?.value, []);
    assert.equal(conf.get('migration_port_min')?.value, 49152);
    assert.equal(conf.get('bad')?.value, undefined);
    assert.equal(parseConf(DEBIAN).size, 0, 'Debian ships every setting commented out');
  });
});

describe('qemu_conf validation and diff', () => {
  const params = (raw: Record<string, unknown>) => {
    const problems: SchemaProblem[] = [];
    const p = validateParams(qemuConf.params, raw, problems) as any;
    return { p, problems: [...problems.map((x) => `${x.path.join('.')}: ${x.message}`), ...(problems.length ? [] : asText(qemuConf.validate!(p)))] };
  };
  it('names the field of each mistake', () => {
    const { problems } = params({ settings: { migrate_tls_force: '1', migrate_tls_x509_cert_dir: 5, migration_port_min: 50000, migration_port_max: 49000, 'bad key': 1 }, path: 'rel' });
    assert.deepEqual(problems, [
      "path: must be absolute, got 'rel'",
      'settings.migrate_tls_force: libvirt reads an integer here, got "1" (write it without quotes)',
      'settings.migrate_tls_x509_cert_dir: libvirt reads a string here, got 5',
      'settings.bad key: not a qemu.conf key name',
      'settings: migration_port_min (50000) is above migration_port_max (49000)',
    ]);
    assert.match(params({ settings: { x: { a: 1 } } }).problems[0], /settings\.x: a qemu.conf value must be/);
  });
  it('refuses a line break in a value or list item, and keys that are not plain names', () => {
    const { problems } = params({ settings: { migrate_tls_x509_cert_dir: '/etc/pki/x\nmigrate_tls_force = 0', cgroup_device_acl: ['/dev/null', '/dev/kvm\r'], 'user\n': 'qemu', 'a=b': 1, '#x': 1 } });
    assert.deepEqual(problems, [
      'settings.migrate_tls_x509_cert_dir: a qemu.conf string cannot contain a newline',
      'settings.cgroup_device_acl: a qemu.conf string cannot contain a newline',
    ]);
    assert.deepEqual(params({ settings: { 'user\n': 'qemu', 'a=b': 1, '#x': 1, '[x': 1 } }).problems, [
      'settings.user\n: not a qemu.conf key name',
      'settings.a=b: not a qemu.conf key name',
      'settings.#x: not a qemu.conf key name',
      'settings.[x: not a qemu.conf key name',
    ]);
  });
  it('reports one change per key with the whole-file diff once, and nothing when in sync', () => {
    const { p } = params({ settings: { migrate_tls_force: 1, migration_port_min: 49152 }, verify_certs: false });
    const text = 'migration_port_min = 49152\n#migrate_tls_force = 0\n';
    const state = { exists: true, text, entries: parseConf(text), certFiles: [] };
    const d = normalizeDiff(qemuConf.diff!(state, p));
    assert.equal(d.changes.length, 1);
    assert.equal(d.changes[0].path, '/etc/libvirt/qemu.conf migrate_tls_force');
    assert.equal(d.changes[0].from, undefined);
    assert.equal(d.changes[0].to, '1');
    assert.equal(d.changes[0].after, 'migration_port_min = 49152\nmigrate_tls_force = 1\n');
    const after = d.changes[0].after!;
    assert.deepEqual(normalizeDiff(qemuConf.diff!({ ...state, text: after, entries: parseConf(after) }, p)).changes, []);
  });
});

describe('qemu_conf: values it cannot write are ModuleErrors (a task failure, not an internal error)', () => {
  it('renderValue and setKeys', () => {
    assert.throws(() => renderValue(1.5), ModuleError);
    assert.throws(() => renderValue(`a'b"c`), (e: Error) => e instanceof ModuleError && /both ' and "/.test(e.message));
    assert.throws(() => setKeys('', { 'a b': 1 }), (e: Error) => e instanceof ModuleError && e.message === "invalid qemu.conf key 'a b'");
  });
});
