import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { parseMarked } from '../../engine/facts/parse.js';
import { formatChange, normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { canonicalKey, editSysctlFile, normalizeValue, parseKeySection, parseSysctlFile, procPath, writeProblem } from '../../modules/sysctl/parse.js';
import { sysctl, type SysctlParams, type SysctlState } from '../../modules/sysctl/index.js';
import { asText } from './problems.js';

const fx = (name: string) => readFileSync(rootPath('test/fixtures/sysctl', name), 'utf8');
const FILE = '/etc/sysctl.d/90-live-migration.conf';

function params(p: Record<string, unknown>): SysctlParams {
  const problems: SchemaProblem[] = [];
  const out = validateParams(sysctl.params, p, problems) as unknown as SysctlParams;
  assert.deepEqual(problems, []);
  return out;
}

describe('sysctl parsers', () => {
  it('normalises values: whitespace runs, booleans', () => {
    assert.equal(normalizeValue('4096\t131072   6291456\n'), '4096 131072 6291456');
    assert.equal(normalizeValue(true), '1');
    assert.equal(normalizeValue('off'), '0');
    assert.equal(normalizeValue(16777216), '16777216');
    assert.equal(normalizeValue('bbr'), 'bbr');
  });
  it('spells keys the sysctl.d(5) way', () => {
    assert.equal(canonicalKey('net/ipv4/conf/eth1.100/rp_filter'), 'net.ipv4.conf.eth1/100.rp_filter');
    assert.equal(procPath('net.ipv4.conf.eth1/100.rp_filter'), '/proc/sys/net/ipv4/conf/eth1.100/rp_filter');
    assert.equal(procPath('net/core/rmem_max'), '/proc/sys/net/core/rmem_max');
  });
  it('reads the per-key sections captured in a network namespace', () => {
    const s = parseMarked(fx('netns-read.out'));
    assert.deepEqual(parseKeySection(s.k0.text, s.k0.rc), { exists: true, writable: true, value: '4096 131072 6291456' });
    assert.deepEqual(parseKeySection(s.k1.text, s.k1.rc), { exists: true, writable: false, mode: '444', value: '4194304' });
    assert.deepEqual(parseKeySection(s.k2.text, s.k2.rc), { exists: false, writable: false, value: null });
    assert.deepEqual(parseKeySection('w\nsysctl: permission denied on key "net.ipv4.route.flush"\n', 255), {
      exists: true, writable: true, value: null, readError: 'permission denied on key "net.ipv4.route.flush"',
    });
    assert.equal(s.file.text, 'present\n# operator notes\nnet.ipv4.tcp_rmem = 4096\t131072   6291456\nkernel.panic=10\n');
  });
  it('judges a write by reading back (captured: exit 0 with "Invalid argument")', () => {
    const s = parseMarked(fx('netns-write.out'));
    assert.equal(writeProblem('net.core.rmem_max', '16777216', s.w0.text, 'hv2'), "net.core.rmem_max cannot be set to '16777216' on hv2: Invalid argument — running value stays 4194304");
    assert.equal(writeProblem('net.ipv4.tcp_rmem', '4096 87380 16777216', s.w1.text, 'hv2'), null);
    assert.match(writeProblem('net.ipv4.tcp_rmem', 'abc', s.w2.text, 'hv2')!, /Invalid argument — running value stays 4096 87380 16777216$/);
  });
  it('parses a drop-in: comments, dash prefix, last line wins', () => {
    assert.deepEqual(parseSysctlFile('# c\n; c\n-net.core.somaxconn = 1024\nvm.swappiness=10\nvm.swappiness = 5\n\nbogus line\n'), { 'net.core.somaxconn': '1024', 'vm.swappiness': '5' });
  });
  it('edits only our keys, keeps the rest, appends what is missing', () => {
    const before = '# operator notes\nnet.ipv4.tcp_rmem = 4096\t131072   6291456\nkernel.panic=10\nnet.ipv4.tcp_rmem=1 2 3\n';
    assert.equal(
      editSysctlFile(before, { 'net.ipv4.tcp_rmem': '4096 87380 16777216', 'net.ipv4.tcp_wmem': '4096 65536 16777216' }),
      '# operator notes\nnet.ipv4.tcp_rmem = 4096 87380 16777216\nkernel.panic=10\nnet.ipv4.tcp_rmem= 4096 87380 16777216\nnet.ipv4.tcp_wmem = 4096 65536 16777216\n',
    );
    assert.equal(editSysctlFile('kernel.panic=10', { 'vm.swappiness': '10' }), 'kernel.panic=10\nvm.swappiness = 10\n');
    assert.match(editSysctlFile(null, { 'vm.swappiness': '10' }), /^# Managed by play.*\nvm\.swappiness = 10\n$/);
    // An equal value written with other spacing is left alone (no flapping rewrite).
    assert.equal(editSysctlFile('net.ipv4.tcp_rmem=4096  1 2\n', { 'net.ipv4.tcp_rmem': '4096 1 2' }), 'net.ipv4.tcp_rmem=4096  1 2\n');
  });
});

describe('sysctl diff', () => {
  const rw = (value: string) => ({ exists: true, writable: true, value });
  const base = (over: Partial<SysctlState> = {}): SysctlState => ({
    host: 'hv2',
    keys: { 'net.ipv4.tcp_rmem': rw('4096\t87380\t16777216'.split('\t').join(' ')), 'net.ipv4.tcp_mtu_probing': rw('1') },
    file: `net.ipv4.tcp_rmem = 4096\t87380\t16777216\nnet.ipv4.tcp_mtu_probing = 1\n`,
    ...over,
  });
  const want = { settings: { 'net.ipv4.tcp_rmem': '4096 87380  16777216', 'net.ipv4.tcp_mtu_probing': true } };
  const table: Array<{ name: string; st: SysctlState; p?: Record<string, unknown>; changes: string[]; failures?: string[] }> = [
    { name: 'in sync (tabs vs spaces, true vs 1)', st: base(), changes: [] },
    {
      name: 'runtime drift only',
      st: base({ keys: { 'net.ipv4.tcp_rmem': rw('4096 131072 6291456'), 'net.ipv4.tcp_mtu_probing': rw('1') } }),
      changes: ["runtime net.ipv4.tcp_rmem: '4096 131072 6291456' → '4096 87380 16777216'"],
    },
    {
      name: 'file drift only: a missing line and a changed value',
      st: base({ file: 'net.ipv4.tcp_mtu_probing = 0\n' }),
      changes: [`file ${FILE} net.ipv4.tcp_rmem: missing line`, `file ${FILE} net.ipv4.tcp_mtu_probing: '0' → '1'`],
    },
    { name: 'no file at all', st: base({ file: null }), changes: [`file ${FILE} net.ipv4.tcp_rmem: missing line`, `file ${FILE} net.ipv4.tcp_mtu_probing: missing line`] },
    { name: 'persist off ignores the file', st: base({ file: undefined }), p: { persist: false }, changes: [] },
    {
      name: 'a read-only key in a namespace',
      st: base({ keys: { ...base().keys, 'net.core.rmem_max': { exists: true, writable: false, mode: '444', value: '212992' } } }),
      p: { settings: { ...want.settings, 'net.core.rmem_max': 16777216 }, persist: false },
      changes: [],
      failures: ['net.core.rmem_max cannot be set on hv2: read-only in this context (network namespace?) — running value stays 212992'],
    },
    {
      name: 'a read-only key already at the value is fine',
      st: base({ keys: { ...base().keys, 'net.core.rmem_max': { exists: true, writable: false, mode: '444', value: '212992' } } }),
      p: { settings: { 'net.core.rmem_max': 212992 }, persist: false },
      changes: [],
    },
    {
      name: 'an unknown key',
      st: base({ keys: { ...base().keys, 'net.nope.nothing': { exists: false, writable: false, value: null } } }),
      p: { settings: { ...want.settings, 'net.nope.nothing': 1 } },
      changes: [],
      failures: ['net.nope.nothing is not a sysctl key on hv2 (no /proc/sys/net/nope/nothing)'],
    },
    {
      name: 'not writable by a user without become',
      st: base({ keys: { 'net.ipv4.tcp_rmem': { exists: true, writable: false, mode: '644', value: '1 2 3' }, 'net.ipv4.tcp_mtu_probing': rw('1') } }),
      changes: [],
      failures: ['net.ipv4.tcp_rmem cannot be set on hv2: not writable by this user (become: true?) — running value stays 1 2 3'],
    },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = normalizeDiff(sysctl.diff!(t.st, params({ ...want, ...(t.p ?? {}) })));
      assert.deepEqual(d.changes.map(formatChange), t.changes);
      assert.deepEqual(d.failures, t.failures ?? []);
    });
  }
  it('carries one whole-file diff for --diff', () => {
    const d = normalizeDiff(sysctl.diff!(base({ file: 'kernel.panic=10\n' }), params(want)));
    const withText = d.changes.filter((c) => c.after !== undefined);
    assert.equal(withText.length, 1);
    assert.equal(withText[0].before, 'kernel.panic=10\n');
    assert.equal(withText[0].after, 'kernel.panic=10\nnet.ipv4.tcp_rmem = 4096 87380 16777216\nnet.ipv4.tcp_mtu_probing = 1\n');
  });
  it('validates keys and paths', () => {
    assert.deepEqual(asText(sysctl.validate!(params({ settings: { 'net..x': 1, 'a b': 2 }, file: 'rel.conf' }))), [
      'settings.net..x: not a sysctl key name',
      'settings.a b: not a sysctl key name',
      "file: must be an absolute path, got 'rel.conf'",
    ]);
  });
  it('refuses a value or file with a line break (it would add lines to the drop-in)', () => {
    assert.deepEqual(asText(sysctl.validate!(params({ settings: { 'net.ipv4.tcp_mtu_probing': '1\nkernel.panic = 0', 'vm.swappiness': '1\r' }, file: '/etc/sysctl.d/x\n.conf' }))), [
      'settings.net.ipv4.tcp_mtu_probing: must be a single line (it contains a line break, which would add lines to the file)',
      'settings.vm.swappiness: must be a single line (it contains a line break, which would add lines to the file)',
      'file: must be a single line (it contains a line break, which would add lines to the file)',
    ]);
    assert.deepEqual(sysctl.validate!(params({ settings: { 'net.ipv4.tcp_rmem': '4096 87380 16777216', 'vm.swappiness': 1 } })), []);
  });
});
