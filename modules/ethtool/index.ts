// ethtool: NIC offload features (-k/-K), ring sizes (-g/-G) and channels (-l/-L).
// One read round trip; apply runs -G/-K/-L only for what differs. Settings the driver cannot
// change are per-setting findings (failures, or warnings with `unsupported: warn`).
import { interfaceNameProblem } from '../../engine/module/name-rules.js';
import { paramProblem, type ApplySteps, type ParamProblem, type Change, type DiffResult, type Module, type ProbeHost } from '../../engine/module/contract.js';
import type { ParamSchema, ParamSpec } from '../../engine/module/schema.js';
import { closest } from '../../engine/module/schema.js';
import { ModuleError } from '../../engine/errors.js';
import { sh, shJoin } from '../../engine/connection/quote.js';
import { markedScript, parseMarked, type Probe } from '../../engine/connection/sections.js';
import {
  canonicalFeature,
  ethtoolError,
  featureArg,
  featureLabel,
  parseChannels,
  parseDriver,
  parseFeatures,
  parseRings,
  type ChannelKey,
  type Features,
  type Limits,
  type RingKey,
} from './parse.js';

type Amount = number | 'max';

export interface EthtoolParams {
  interface: string;
  rings?: Partial<Record<RingKey, Amount>>;
  features?: Record<string, boolean>;
  channels?: Partial<Record<ChannelKey, Amount>>;
  unsupported: 'fail' | 'warn';
}

/** Either the parsed limits or why the driver refuses to show them ("Operation not supported"). */
export type LimitsRead<K extends string> = { limits: Limits<K> } | { error: string };

export interface EthtoolState {
  interface: string;
  exists: boolean;
  driver: string | null;
  features?: Features;
  featuresError?: string;
  rings?: LimitsRead<RingKey>;
  channels?: LimitsRead<ChannelKey>;
}

const amount = (what: string): ParamSpec => ({
  type: 'raw',
  description: `${what}: a number, or \`max\` for the NIC's pre-set maximum`,
  check: (v) =>
    v === 'max' || (typeof v === 'number' && Number.isInteger(v) && v >= 0) || (typeof v === 'string' && /^\d+$/.test(v))
      ? undefined
      : `expected a non-negative integer or 'max', got ${JSON.stringify(v)}`,
});

const params: ParamSchema = {
  interface: { type: 'str', required: true, description: 'Network interface, e.g. eth1.', check: interfaceNameProblem },
  rings: {
    type: 'dict',
    description: 'Ring sizes (ethtool -G).',
    options: { rx: amount('RX ring'), tx: amount('TX ring'), rx_mini: amount('RX mini ring'), rx_jumbo: amount('RX jumbo ring') },
  },
  features: {
    type: 'dict',
    description: 'Offload features (ethtool -K): short names (gro, gso, tso, lro, rx, tx, sg, rxvlan …), the long names ethtool -k prints (generic-receive-offload …) or kernel names (rx-gro …) → on/off.',
    values: { type: 'bool', description: 'on (true) or off (false)' },
  },
  channels: {
    type: 'dict',
    description: 'Queue counts (ethtool -L).',
    options: { combined: amount('combined channels'), rx: amount('RX channels'), tx: amount('TX channels'), other: amount('other channels') },
  },
  unsupported: {
    type: 'str',
    default: 'fail',
    choices: ['fail', 'warn'],
    description: 'A setting the driver cannot change ([fixed] feature, no ring support, above the maximum): fail the task, or warn and skip it.',
  },
};

const toAmount = (v: Amount | string): Amount => (v === 'max' ? 'max' : Number(v));

// ---- read ----

function probe(p: EthtoolParams): Probe<EthtoolState> {
  const dev = p.interface;
  const sections = [
    { name: 'link', cmd: sh`ip -o link show dev ${dev}` },
    { name: 'driver', cmd: sh`ethtool -i ${dev}` },
  ];
  if (p.features && Object.keys(p.features).length) sections.push({ name: 'features', cmd: sh`ethtool -k ${dev}` });
  if (p.rings && Object.keys(p.rings).length) sections.push({ name: 'rings', cmd: sh`ethtool -g ${dev}` });
  if (p.channels && Object.keys(p.channels).length) sections.push({ name: 'channels', cmd: sh`ethtool -l ${dev}` });
  return { script: markedScript(sections), parse: (r) => stateFromOutput(dev, parseMarked(r.stdout)) };
}

/** Pure: the sections of the read script → state (unit-tested on captured output). */
export function stateFromOutput(dev: string, s: ReturnType<typeof parseMarked>): EthtoolState {
  if (!s.link) throw new ModuleError(`could not read ${dev}: the read script produced no output (is sh available?)`);
  if (s.link.rc !== 0) return { interface: dev, exists: false, driver: null };
  const st: EthtoolState = { interface: dev, exists: true, driver: s.driver?.rc === 0 ? parseDriver(s.driver.text) : null };
  if (s.features) {
    if (s.features.rc === 0) st.features = parseFeatures(s.features.text);
    else st.featuresError = ethtoolError(s.features.text);
  }
  if (s.rings) st.rings = s.rings.rc === 0 ? { limits: parseRings(s.rings.text) } : { error: ethtoolError(s.rings.text) };
  if (s.channels) st.channels = s.channels.rc === 0 ? { limits: parseChannels(s.channels.text) } : { error: ethtoolError(s.channels.text) };
  return st;
}

// ---- diff ----

const RING_WORD: Record<RingKey, string> = { rx: 'rx', tx: 'tx', rx_mini: 'rx-mini', rx_jumbo: 'rx-jumbo' };
const CHANNEL_WORD: Record<ChannelKey, string> = { rx: 'rx', tx: 'tx', other: 'other', combined: 'combined' };

/** What a change is about: one ring size, channel count or offload feature (the printed name). */
export type EthtoolTarget = { kind: 'ring'; key: RingKey } | { kind: 'channels'; key: ChannelKey } | { kind: 'feature'; key: string };

/** `eth1 ring rx`, `eth1 channels combined`, `eth1 feature tcp-segmentation-offload` */
const ethChange = (dev: string, t: EthtoolTarget, from: unknown, to: unknown): Change<EthtoolTarget> => ({ path: `${dev} ${t.kind} ${t.key}`, target: t, from, to });

function diffLimits<K extends RingKey | ChannelKey>(
  dev: string,
  kind: 'ring' | 'channels',
  desired: Partial<Record<K, Amount>>,
  read: LimitsRead<K> | undefined,
  driver: string | null,
  changes: Change<EthtoolTarget>[],
  unsupported: string[],
): void {
  const by = driver ? `the driver (${driver})` : 'the driver';
  const what = kind === 'ring' ? 'ring sizes' : 'channel counts';
  for (const [key, raw] of Object.entries(desired) as Array<[K, Amount]>) {
    if (raw === undefined || raw === null) continue;
    const want = toAmount(raw);
    const label = `${dev} ${kind} ${key}`;
    if (!read) continue;
    if ('error' in read) {
      unsupported.push(`${label}: ${by} does not support ${what} (${read.error})`);
      continue;
    }
    const max = read.limits.max[key];
    const cur = read.limits.current[key];
    if (max === null || cur === null) {
      unsupported.push(`${label}: ${by} has no ${key} ${kind === 'ring' ? 'ring' : 'channels'} (pre-set maximum n/a)`);
      continue;
    }
    const target = want === 'max' ? max : want;
    if (target > max) {
      unsupported.push(`${label}: ${target} is above the pre-set maximum ${max}`);
      continue;
    }
    if (cur !== target) changes.push(ethChange(dev, { kind, key } as EthtoolTarget, cur, target));
  }
}

function diff(st: EthtoolState, p: EthtoolParams): DiffResult<EthtoolTarget> {
  const dev = p.interface;
  if (!st.exists) return { changes: [], failures: [`interface ${dev} does not exist`] };
  const changes: Change<EthtoolTarget>[] = [];
  const failures: string[] = [];
  const unsupported: string[] = [];
  if (p.features && Object.keys(p.features).length) {
    if (!st.features) failures.push(`${dev}: cannot read offload features (${st.featuresError ?? 'no output'})`);
    else {
      for (const [name, want] of Object.entries(p.features)) {
        const printed = canonicalFeature(name);
        const cur = st.features[printed];
        if (!cur) {
          const hint = closest(printed, Object.keys(st.features));
          failures.push(`${dev}: unknown feature '${name}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
          continue;
        }
        if (cur.on === want) continue;
        const onOff = (b: boolean) => (b ? 'on' : 'off');
        if (cur.fixed) {
          unsupported.push(`${dev} feature ${featureLabel(printed)}: fixed ${onOff(cur.on)} by the driver${st.driver ? ` (${st.driver})` : ''}, cannot turn it ${onOff(want)}`);
          continue;
        }
        changes.push(ethChange(dev, { kind: 'feature', key: printed }, onOff(cur.on), onOff(want)));
      }
    }
  }
  if (p.rings) diffLimits(dev, 'ring', p.rings, st.rings, st.driver, changes, unsupported);
  if (p.channels) diffLimits(dev, 'channels', p.channels, st.channels, st.driver, changes, unsupported);
  if (p.unsupported === 'warn') return { changes, failures, warnings: unsupported.map((u) => `${u} (skipped)`) };
  return { changes, failures: [...failures, ...unsupported], warnings: [] };
}

// ---- apply ----

/** The ethtool commands for a list of changes: one -G, one -K, one -L at most. */
export function commandsFor(dev: string, changes: Change<EthtoolTarget>[]): string[] {
  const rings: Array<string | number> = [];
  const feats: Array<string | number> = [];
  const chans: Array<string | number> = [];
  for (const { target: t, to } of changes) {
    if (t?.kind === 'ring') rings.push(RING_WORD[t.key], Number(to));
    else if (t?.kind === 'channels') chans.push(CHANNEL_WORD[t.key], Number(to));
    else if (t?.kind === 'feature') feats.push(featureArg(t.key), String(to));
  }
  const cmds: string[] = [];
  if (rings.length) cmds.push(`ethtool -G ${shJoin([dev, ...rings])}`);
  if (feats.length) cmds.push(`ethtool -K ${shJoin([dev, ...feats])}`);
  if (chans.length) cmds.push(`ethtool -L ${shJoin([dev, ...chans])}`);
  return cmds;
}

/** At most three commands, each judged on its own; the engine sends them with the re-read. */
function applySteps(p: EthtoolParams, changes: Change<EthtoolTarget>[], _state: EthtoolState, h: ProbeHost): ApplySteps {
  const cmds = commandsFor(p.interface, changes);
  return {
    steps: cmds.map((cmd) => ({ run: cmd, log: cmd })),
    judge(outs) {
      // -K exits 0 even when some features stayed put; the engine's re-read catches that.
      outs.forEach((r, i) => {
        if (r && r.code !== 0) throw new ModuleError(`${cmds[i]} failed on ${h.hostName}: ${ethtoolError(r.output)}`);
      });
    },
  };
}

export const ethtool: Module<EthtoolParams, EthtoolState, EthtoolTarget> = {
  name: 'ethtool',
  kind: 'state',
  summary: 'NIC ring sizes, offload features and channels (ethtool -G/-K/-L), changed only where they differ',
  description: [
    'Reads `ethtool -k`, `-g` and `-l` in one round trip and runs `-G`, `-K`, `-L` only for settings that differ.',
    'A setting the driver cannot change — a `[fixed]` feature, rings on a driver without ring support (veth),',
    'a value above the pre-set maximum — is reported per setting: it fails the task (`unsupported: fail`,',
    'the default, also in check mode) or is reported as a warning and skipped (`unsupported: warn`).',
    '`max` means the pre-set maximum the NIC reports. Ring and channel changes may briefly reset the NIC queues.',
  ].join('\n'),
  params,
  examples: [
    'ethtool:\n  interface: eth1\n  rings: { rx: max, tx: max }\n  features: { gro: on, tso: on, lro: off }\n  channels: { combined: 8 }',
    'ethtool:\n  interface: eth1\n  features: { gro: on }\n  rings: { rx: 4096 }\n  unsupported: warn   # veth has no rings: report and go on',
  ],
  validate(p) {
    const out: ParamProblem[] = [];
    if (!p.rings && !p.features && !p.channels) out.push(paramProblem('rings/features/channels', 'set at least one of them'));
    return out;
  },
  probe,
  diff,
  applySteps,
  result: (st) => ({ driver: st.driver, features: st.features }),
};
