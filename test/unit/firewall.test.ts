import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { isMissingTable, parseCidr, parseNftTable, parsePort } from '../../modules/firewall/parse.js';
import { desiredRules, diffTable, liveDeletes, renderNft, ruleText } from '../../modules/firewall/rules.js';
import { firewall } from '../../modules/firewall/index.js';
import { ModuleError } from '../../engine/errors.js';
import { formatChange, normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { asText } from './problems.js';

// Captured from nft 1.0.6 inside a network namespace (`nft -j list table inet live_migration`).
const F = (name: string) => readFileSync(rootPath('test/fixtures/firewall', name), 'utf8');
const PORTS = ['49152-49215', 16514];
const ALLOW = ['198.18.24.2', '10.0.0.0/8', 'fd00:abcd::/64', '2001:db8::1'];

describe('firewall nft JSON parser', () => {
  it('reads our table as normalised rule tuples', () => {
    const t = parseNftTable(F('desired.json'), 'inet', 'live_migration');
    assert.equal(t.exists, true);
    assert.deepEqual(t.chains, [{ name: 'input', type: 'filter', hook: 'input', prio: 0, policy: 'accept' }]);
    assert.deepEqual(t.rules.input.map(ruleText), [
      'ip saddr 198.18.24.2 tcp dport { 16514, 49152-49215 } accept',
      'ip saddr 10.0.0.0/8 tcp dport { 16514, 49152-49215 } accept',
      'ip6 saddr fd00:abcd::/64 tcp dport { 16514, 49152-49215 } accept',
      'ip6 saddr 2001:db8::1 tcp dport { 16514, 49152-49215 } accept',
      'tcp dport { 16514, 49152-49215 } drop',
    ]);
    assert.deepEqual(t.objects, []);
  });

  it('keeps what it does not write (counters, ct state, named sets) as foreign parts', () => {
    const t = parseNftTable(F('drifted.json'), 'inet', 'live_migration');
    assert.deepEqual(t.chains.map((c) => [c.name, c.prio, c.policy]), [['input', -10, 'drop'], ['extra', undefined, undefined]]);
    assert.deepEqual(t.objects, [{ type: 'set', name: 'peers' }]);
    const r = t.rules.input;
    assert.equal(r[1].other.length, 1);
    assert.match(r[1].other[0], /"counter"/);
    assert.equal(r[2].saddr, null);
    assert.match(r[3].other[0], /@peers/);
  });

  it('does not mix up families or tables', () => {
    assert.equal(parseNftTable(F('ip-family.json'), 'inet', 'live_migration').exists, false);
    assert.equal(parseNftTable(F('ip-family.json'), 'ip', 'live_migration').rules.input.length, 2);
  });

  it('knows a missing table from a failure', () => {
    assert.equal(isMissingTable(Number(F('missing-table.rc')), F('missing-table.stderr')), true);
    assert.equal(isMissingTable(1, 'Error: Could not process rule: Operation not permitted'), false);
  });
});

describe('firewall addresses and ports', () => {
  const ok: Array<[string, string]> = [
    ['198.18.24.2', '198.18.24.2'],
    ['198.18.24.2/32', '198.18.24.2'],
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['FD00:ABCD:0:0::/64', 'fd00:abcd::/64'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['::ffff:198.18.24.2', '::ffff:c612:1802'],
    ['0.0.0.0/0', '0.0.0.0/0'],
  ];
  for (const [input, text] of ok) it(`canonicalises ${input}`, () => assert.equal(parseCidr(input).text, text));
  it('refuses bad CIDRs with a useful sentence', () => {
    assert.throws(() => parseCidr('198.18.24.5/24'), /host bits set: did you mean 198\.18\.24\.0\/24\?/);
    assert.throws(() => parseCidr('fd00::1/64'), /did you mean fd00::\/64\?/);
    assert.throws(() => parseCidr('198.18.24.0/33'), /0\.\.32/);
    assert.throws(() => parseCidr('example.org'), /not an IPv4 or IPv6/);
  });
  it('parses ports and ranges', () => {
    assert.deepEqual(parsePort('49152-49215'), { lo: 49152, hi: 49215 });
    assert.deepEqual(parsePort(16514), { lo: 16514, hi: 16514 });
    assert.throws(() => parsePort('70000'), /1\.\.65535/);
    assert.throws(() => parsePort('49215-49152'), /starts above/);
    assert.throws(() => parsePort('ssh'), /not a port/);
  });
});

describe('firewall rule diff', () => {
  const want = desiredRules('inet live_migration', PORTS, ALLOW);
  const live = (name: string) => parseNftTable(F(name), 'inet', 'live_migration');

  it('is empty when the live table is the desired one', () => {
    assert.deepEqual(diffTable(live('desired.json'), 'inet live_migration', want), []);
  });

  it('names a missing table, and a table to delete', () => {
    const empty = { exists: false, chains: [], rules: {}, objects: [] };
    assert.deepEqual(diffTable(empty, 'inet live_migration', want).map(formatChange), ['nft table inet live_migration: absent → create with 5 rules']);
    assert.deepEqual(diffTable(live('desired.json'), 'inet live_migration', null).map(formatChange), ["nft table inet live_migration: 'present' → 'absent'"]);
    assert.deepEqual(diffTable(empty, 'inet live_migration', null), []);
  });

  it('names missing and extra rules, chain drift and foreign objects', () => {
    const small = desiredRules('inet live_migration', ['49152-49215'], ['198.18.24.2', '198.18.24.3']);
    assert.deepEqual(diffTable(live('drifted.json'), 'inet live_migration', small).map(formatChange), [
      "nft table inet live_migration chain input prio: -10 → 0",
      "nft table inet live_migration chain input policy: 'drop' → 'accept'",
      "nft table inet live_migration chain extra: 'present' → 'absent'",
      "nft table inet live_migration set peers: 'present' → 'absent'",
      'nft table inet live_migration rule: missing: ip saddr 198.18.24.3 tcp dport 49152-49215 accept',
      'nft table inet live_migration rule: extra: tcp dport 16514 {"counter":{"packets":0,"bytes":0}} accept',
      'nft table inet live_migration rule: extra: {"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["established","related"]}} accept',
      'nft table inet live_migration rule: extra: tcp dport 49152-49215 {"match":{"op":"==","left":{"payload":{"protocol":"ip","field":"saddr"}},"right":"@peers"}} accept',
    ]);
  });

  it('notices a deleted rule and rules in the wrong order', () => {
    const t = live('desired.json');
    const deleted = { ...t, rules: { input: t.rules.input.filter((_, i) => i !== 1) } };
    assert.deepEqual(diffTable(deleted, 'inet live_migration', want).map(formatChange), [
      'nft table inet live_migration rule: missing: ip saddr 10.0.0.0/8 tcp dport { 16514, 49152-49215 } accept',
    ]);
    const swapped = { ...t, rules: { input: [...t.rules.input].reverse() } };
    assert.deepEqual(diffTable(swapped, 'inet live_migration', want).map((c) => c.path), ['nft table inet live_migration rule order']);
  });

  it('renders one transaction that rebuilds the table, deleting what it held', () => {
    const text = renderNft(want, liveDeletes(live('drifted.json'), want));
    const body = text.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.deepEqual(body, [
      'table inet live_migration {}',
      'flush table inet live_migration',
      'delete chain inet live_migration input',
      'delete chain inet live_migration extra',
      'delete set inet live_migration peers',
      'table inet live_migration {',
      '\tchain input {',
      '\t\ttype filter hook input priority 0; policy accept;',
      ...want.rules.map((r) => `\t\t${ruleText(r)}`),
      '\t}',
      '}',
    ]);
    assert.ok(!renderNft(want, []).includes('delete'));
  });
});

describe('firewall validation and facets', () => {
  const check = (raw: Record<string, unknown>) => {
    const problems: SchemaProblem[] = [];
    const p = validateParams(firewall.params, raw, problems) as any;
    assert.deepEqual(problems, []);
    return { p, problems: asText(firewall.validate!(p)) };
  };
  it('names the field of every mistake', () => {
    assert.deepEqual(check({ table: 'bridge x', ports: '49152-49215,70000', extra_ports: [49200], allow_from: ['198.18.24.5/24', 'nope'], persist_file: 'rel.nft' }).problems, [
      "table: expected 'FAMILY NAME' with FAMILY inet, ip or ip6 and a plain name, got 'bridge x'",
      "ports: '70000': ports are 1..65535",
      'extra_ports: 49200 overlaps 49152-49215',
      "allow_from.0: '198.18.24.5/24' has host bits set: did you mean 198.18.24.0/24?",
      "allow_from.1: 'nope' is not an IPv4 or IPv6 address or CIDR",
      "persist_file: must be absolute, got 'rel.nft'",
    ]);
    assert.deepEqual(check({}).problems, ['allow_from: name at least one network (else every migration would be dropped)']);
    assert.deepEqual(check({ table: 'ip lm', allow_from: ['fd00::/64'] }).problems, ["allow_from.0: 'fd00::/64' cannot go in a table of family ip"]);
    assert.deepEqual(check({ state: 'absent' }).problems, []);
  });
  it('refuses a line break in any parameter, naming it', () => {
    const lb = 'must be a single line (it contains a line break, which would add lines to the file)';
    assert.deepEqual(check({ table: 'inet\nlm', ports: '49152-49215\n', extra_ports: [16514, '16509\r'], allow_from: ['198.18.24.0/24', '198.18.25.0/24\n'], persist_file: '/etc/x\n.nft' }).problems, [
      `table: ${lb}`,
      `ports: ${lb}`,
      `extra_ports.1: ${lb}`,
      `allow_from.1: ${lb}`,
      `persist_file: ${lb}`,
    ]);
  });
  it('reports file drift apart from live drift', () => {
    const { p } = check({ allow_from: ALLOW, extra_ports: 16514, persist_file: '/etc/nftables.d/live-migration.nft' });
    const liveT = parseNftTable(F('desired.json'), 'inet', 'live_migration');
    const wantFile = renderNft(desiredRules(p.table, PORTS, ALLOW), [], p.persist_file);
    assert.deepEqual(normalizeDiff(firewall.diff!({ live: liveT, file: wantFile }, p)).changes, []);
    const d = normalizeDiff(firewall.diff!({ live: liveT, file: wantFile.replace('accept\n', 'drop\n') }, p)).changes;
    assert.deepEqual(d.map((c) => [c.path, c.from]), [['file /etc/nftables.d/live-migration.nft', 'differs']]);
    const missing = normalizeDiff(firewall.diff!({ live: liveT, file: null }, p)).changes;
    assert.deepEqual(missing.map((c) => [c.path, c.from]), [['file /etc/nftables.d/live-migration.nft', 'absent']]);
  });
});

describe('firewall: unusual nft output is a task failure naming it, not an internal error', () => {
  it('nft printing its text format (real `nft list table` output) instead of JSON', () => {
    assert.throws(() => parseNftTable(F('list-table-text.out'), 'inet', 'live_migration'), (e: Error) => e instanceof ModuleError && /^nft -j list table inet live_migration printed no JSON: "table inet live_migration \{/.test(e.message));
  });
});
