import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { parseMarked } from '../../engine/facts/parse.js';
import { canonicalFeature, ethtoolError, featureArg, parseChannels, parseDriver, parseFeatures, parseRings } from '../../modules/ethtool/parse.js';
import { commandsFor, ethtool, stateFromOutput, type EthtoolParams, type EthtoolState } from '../../modules/ethtool/index.js';
import { normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { asText } from './problems.js';

const dir = rootPath('test/fixtures/ethtool');
const fx = (name: string) => readFileSync(`${dir}/${name}`, 'utf8');

describe('ethtool parsers (fixtures: veth and virtio_net captured here, mlx5/ixgbe/i40e/virtio_net reference samples)', () => {
  const samples = readdirSync(dir).filter((f) => f.endsWith('.expected.json')).map((f) => f.replace('.expected.json', ''));
  it('finds the samples', () => assert.deepEqual(samples.sort(), ['i40e-reference', 'ixgbe-reference', 'mlx5-reference', 'veth', 'virtio_net-captured', 'virtio_net-reference']));
  for (const s of samples) {
    it(`parses ${s}`, () => {
      const want = JSON.parse(fx(`${s}.expected.json`));
      assert.equal(parseDriver(fx(`${s}.i.txt`)), want.driver);
      const feats = parseFeatures(fx(`${s}.k.txt`));
      assert.equal(Object.keys(feats).length, want.featureCount);
      for (const [name, st] of Object.entries(want.features)) assert.deepEqual(feats[name], st, name);
      if (want.rings) assert.deepEqual(parseRings(fx(`${s}.g.txt`)), want.rings);
      else assert.equal(ethtoolError(fx(`${s}.g.stderr`)), want.ringsError);
      assert.deepEqual(parseChannels(fx(`${s}.l.txt`)), want.channels);
    });
  }
  it('reads [requested on] from a refused -K (captured on veth)', () => {
    assert.deepEqual(parseFeatures(fx('veth.K-lro.stdout'))['rx-lro'], { on: false, fixed: false, requested: true });
    assert.equal(ethtoolError(fx('veth.K-lro.stderr')), 'Could not change any device features');
    assert.equal(fx('veth.G.rc').trim(), '81');
    assert.equal(ethtoolError(fx('veth.G.stderr')), 'Operation not supported');
    assert.equal(ethtoolError(fx('missing.k.stderr')), 'No such device');
  });
  it('refuses output that is not -g/-l output', () => {
    assert.throws(() => parseRings('netlink error: Operation not supported\n'), /unrecognised ethtool -g output/);
  });
  it('maps short, long and kernel feature names', () => {
    for (const n of ['gro', 'GRO', 'generic-receive-offload', 'rx-gro']) assert.equal(canonicalFeature(n), 'generic-receive-offload');
    assert.equal(canonicalFeature('rxvlan'), 'rx-vlan-offload');
    assert.equal(canonicalFeature('tx-nocache-copy'), 'tx-nocache-copy');
    assert.equal(featureArg('large-receive-offload'), 'lro');
    assert.equal(featureArg('rx-udp-gro-forwarding'), 'rx-udp-gro-forwarding');
  });
});

function stateOf(sample: string, dev = 'eth1'): EthtoolState {
  const rings = sample === 'veth' ? { error: 'Operation not supported' } : { limits: parseRings(fx(`${sample}.g.txt`)) };
  return {
    interface: dev,
    exists: true,
    driver: parseDriver(fx(`${sample}.i.txt`)),
    features: parseFeatures(fx(`${sample}.k.txt`)),
    rings,
    channels: { limits: parseChannels(fx(`${sample}.l.txt`)) },
  };
}

function params(p: Record<string, unknown>): EthtoolParams {
  const problems: SchemaProblem[] = [];
  const out = validateParams(ethtool.params, { interface: 'eth1', ...p }, problems) as unknown as EthtoolParams;
  assert.deepEqual(problems, []);
  return out;
}

describe('ethtool diff', () => {
  const table: Array<{ name: string; sample: string; p: Record<string, unknown>; changes: string[]; failures?: string[]; warnings?: string[] }> = [
    { name: 'in sync', sample: 'mlx5-reference', p: { features: { gro: true, lro: 'off' }, rings: { rx: 1024 }, channels: { combined: 32 } }, changes: [] },
    {
      name: 'rings to max, gro/lro and channels differ',
      sample: 'mlx5-reference',
      p: { features: { gro: false, 'large-receive-offload': true }, rings: { rx: 'max', tx: 4096 }, channels: { combined: 'max' } },
      changes: ['eth1 feature generic-receive-offload off', 'eth1 feature large-receive-offload on', 'eth1 ring rx 8192', 'eth1 ring tx 4096', 'eth1 channels combined 63'],
    },
    {
      name: 'a value above the pre-set maximum, a ring the NIC lacks',
      sample: 'ixgbe-reference',
      p: { rings: { rx: 8192, rx_jumbo: 100 } },
      changes: [],
      failures: ['eth1 ring rx: 8192 is above the pre-set maximum 4096', 'eth1 ring rx_jumbo: the driver (ixgbe) has no rx_jumbo ring (pre-set maximum n/a)'],
    },
    {
      name: 'veth: rings unsupported and lro fixed fail by default',
      sample: 'veth',
      p: { features: { gro: true, lro: true }, rings: { rx: 4096 } },
      changes: ['eth1 feature generic-receive-offload on'],
      failures: [
        'eth1 feature large-receive-offload (lro): fixed off by the driver (veth), cannot turn it on',
        'eth1 ring rx: the driver (veth) does not support ring sizes (Operation not supported)',
      ],
    },
    {
      name: 'veth with unsupported: warn: skipped with warnings',
      sample: 'veth',
      p: { features: { gro: true, lro: true }, rings: { rx: 4096 }, unsupported: 'warn' },
      changes: ['eth1 feature generic-receive-offload on'],
      warnings: [
        'eth1 feature large-receive-offload (lro): fixed off by the driver (veth), cannot turn it on (skipped)',
        'eth1 ring rx: the driver (veth) does not support ring sizes (Operation not supported) (skipped)',
      ],
    },
    { name: 'a fixed feature already at the wanted value is fine', sample: 'veth', p: { features: { lro: false } }, changes: [] },
    {
      name: 'an unknown feature always fails, with a hint',
      sample: 'veth',
      p: { features: { 'generic-recieve-offload': true }, unsupported: 'warn' },
      changes: [],
      failures: ["eth1: unknown feature 'generic-recieve-offload' (did you mean 'generic-receive-offload'?)"],
    },
    { name: 'veth channels', sample: 'veth', p: { channels: { rx: 'max', combined: 1 } }, changes: ['eth1 channels rx 2'], failures: ['eth1 channels combined: the driver (veth) has no combined channels (pre-set maximum n/a)'] },
  ];
  for (const t of table) {
    it(t.name, () => {
      const d = normalizeDiff(ethtool.diff!(stateOf(t.sample), params(t.p)));
      assert.deepEqual(d.changes.map((c) => `${c.path} ${c.to}`), t.changes);
      assert.deepEqual(d.failures, t.failures ?? []);
      assert.deepEqual(d.warnings, t.warnings ?? []);
    });
  }
  it('a missing interface is a failure', () => {
    const d = normalizeDiff(ethtool.diff!({ interface: 'eth9', exists: false, driver: null }, params({ interface: 'eth9', features: { gro: true } })));
    assert.deepEqual(d.failures, ['interface eth9 does not exist']);
  });
  it('validates amounts and asks for something to do', () => {
    const problems: SchemaProblem[] = [];
    validateParams(ethtool.params, { interface: 'eth1', rings: { rx: 'lots' }, unsupported: 'ignore' }, problems);
    assert.deepEqual(problems.map((p) => p.path.join('.')), ['rings.rx', 'unsupported']);
    assert.deepEqual(asText(ethtool.validate!(params({}))), ['rings/features/channels: set at least one of them']);
  });
});

describe('ethtool apply commands', () => {
  it('one -G, one -K, one -L, short names, quoted device', () => {
    // Validation refuses 'eth 1' as a name; the commands quote the device all the same.
    const valid = params({ interface: 'eth1', features: { gro: false, 'tx-nocache-copy': true }, rings: { rx: 'max' }, channels: { combined: 8 } });
    const d = normalizeDiff(ethtool.diff!(stateOf('mlx5-reference', 'eth 1'), { ...valid, interface: 'eth 1' }));
    assert.deepEqual(commandsFor('eth 1', d.changes), [
      "ethtool -G 'eth 1' rx 8192",
      "ethtool -K 'eth 1' gro off tx-nocache-copy on",
      "ethtool -L 'eth 1' combined 8",
    ]);
    // apply acts on each change's target: the display path (here a name with a space) is never parsed back.
    assert.deepEqual(d.changes.map((c) => c.path), ['eth 1 feature generic-receive-offload', 'eth 1 feature tx-nocache-copy', 'eth 1 ring rx', 'eth 1 channels combined']);
    const relabelled = d.changes.map((c) => ({ ...c, path: 'shown elsewhere' }));
    assert.deepEqual(commandsFor('eth 1', relabelled), commandsFor('eth 1', d.changes));
  });
});

describe('ethtool read script output (captured on veth in a namespace)', () => {
  it('becomes a state', () => {
    const st = stateFromOutput('eth1', parseMarked(fx('veth-read.out')));
    assert.equal(st.exists, true);
    assert.equal(st.driver, 'veth');
    assert.deepEqual(st.rings, { error: 'Operation not supported' });
    assert.equal(st.features?.['large-receive-offload'].fixed, true);
    assert.deepEqual(st.channels && 'limits' in st.channels && st.channels.limits.max.rx, 2);
  });
  it('a missing device', () => {
    assert.equal(stateFromOutput('eth9', parseMarked(fx('missing-read.out'))).exists, false);
  });
});
