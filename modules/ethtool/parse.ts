// Pure parsers for `ethtool -k` (features), `-g` (rings), `-l` (channels) and `-i` (driver),
// in the text format of ethtool 6.1, plus the feature-name table (short ↔ long ↔ kernel names).
import { ModuleError } from '../../engine/errors.js';

export interface FeatureState {
  on: boolean;
  /** The driver cannot change it (`[fixed]`). */
  fixed: boolean;
  /** `[requested on|off]`: asked for, but the driver kept the other value. */
  requested?: boolean;
  /** Indented under a legacy group (e.g. tx-checksum-sctp under tx-checksumming). */
  parent?: string;
}

/** Name printed by `ethtool -k` → state. */
export type Features = Record<string, FeatureState>;

const FEATURE_LINE = /^(\s*)([A-Za-z0-9_.-]+): (on|off)(?: \[(fixed|requested on|requested off|not requested)\])?\s*$/;

export function parseFeatures(text: string): Features {
  const out: Features = {};
  let group: string | undefined;
  for (const line of text.split('\n')) {
    const m = FEATURE_LINE.exec(line);
    if (!m) continue;
    const [, indent, name, value, note] = m;
    const f: FeatureState = { on: value === 'on', fixed: note === 'fixed' };
    if (note === 'requested on' || note === 'requested off') f.requested = note === 'requested on';
    if (indent) f.parent = group;
    else group = name;
    out[name] = f;
  }
  return out;
}

/**
 * ethtool's legacy flags: the short name `-K` accepts, the long name `-k` prints, and the
 * kernel feature it stands for when there is exactly one (so `rx-gro` works too).
 */
export const LEGACY_FEATURES: ReadonlyArray<{ short: string; long: string; kernel?: string }> = [
  { short: 'rx', long: 'rx-checksumming', kernel: 'rx-checksum' },
  { short: 'tx', long: 'tx-checksumming' },
  { short: 'sg', long: 'scatter-gather' },
  { short: 'tso', long: 'tcp-segmentation-offload' },
  { short: 'ufo', long: 'udp-fragmentation-offload', kernel: 'tx-udp-fragmentation' },
  { short: 'gso', long: 'generic-segmentation-offload', kernel: 'tx-generic-segmentation' },
  { short: 'gro', long: 'generic-receive-offload', kernel: 'rx-gro' },
  { short: 'lro', long: 'large-receive-offload', kernel: 'rx-lro' },
  { short: 'rxvlan', long: 'rx-vlan-offload', kernel: 'rx-vlan-hw-parse' },
  { short: 'txvlan', long: 'tx-vlan-offload', kernel: 'tx-vlan-hw-insert' },
  { short: 'ntuple', long: 'ntuple-filters', kernel: 'rx-ntuple-filter' },
  { short: 'rxhash', long: 'receive-hashing', kernel: 'rx-hashing' },
];

/** The name `ethtool -k` prints for a user's name (short, long or kernel); else the name itself. */
export function canonicalFeature(name: string): string {
  const n = name.trim().toLowerCase();
  const legacy = LEGACY_FEATURES.find((f) => f.short === n || f.long === n || f.kernel === n);
  return legacy ? legacy.long : n;
}

/** The word to give `ethtool -K` for a printed name: the short legacy name when there is one. */
export function featureArg(printed: string): string {
  return LEGACY_FEATURES.find((f) => f.long === printed)?.short ?? printed;
}

/** "generic-receive-offload (gro)" for messages, so the user recognises the name they wrote. */
export function featureLabel(printed: string): string {
  const short = LEGACY_FEATURES.find((f) => f.long === printed)?.short;
  return short ? `${printed} (${short})` : printed;
}

/** Pre-set maximums and current values of `-g` or `-l`; null = `n/a` (not supported). */
export interface Limits<K extends string> {
  max: Record<K, number | null>;
  current: Record<K, number | null>;
}

export type RingKey = 'rx' | 'rx_mini' | 'rx_jumbo' | 'tx';
export type ChannelKey = 'rx' | 'tx' | 'other' | 'combined';

const RING_LABELS: Record<string, RingKey> = { 'RX': 'rx', 'RX Mini': 'rx_mini', 'RX Jumbo': 'rx_jumbo', 'TX': 'tx' };
const CHANNEL_LABELS: Record<string, ChannelKey> = { 'RX': 'rx', 'TX': 'tx', 'Other': 'other', 'Combined': 'combined' };

function parseLimits<K extends string>(text: string, labels: Record<string, K>, what: string): Limits<K> {
  const keys = [...new Set(Object.values(labels))];
  const blank = () => Object.fromEntries(keys.map((k) => [k, null])) as Record<K, number | null>;
  const out: Limits<K> = { max: blank(), current: blank() };
  let section: 'max' | 'current' | undefined;
  let seen = false;
  for (const line of text.split('\n')) {
    if (/^Pre-set maximums:/.test(line)) section = 'max';
    else if (/^Current hardware settings:/.test(line)) section = 'current';
    else if (section) {
      const m = /^([A-Za-z][A-Za-z ]*?):\s+(\S+)\s*$/.exec(line);
      const key = m ? labels[m[1]] : undefined;
      if (!m || !key) continue;
      out[section][key] = /^\d+$/.test(m[2]) ? Number(m[2]) : null;
      seen = true;
    }
  }
  if (!seen) throw new ModuleError(`unrecognised ethtool ${what} output: ${JSON.stringify(text.slice(0, 200))}`);
  return out;
}

export const parseRings = (text: string): Limits<RingKey> => parseLimits(text, RING_LABELS, '-g');
export const parseChannels = (text: string): Limits<ChannelKey> => parseLimits(text, CHANNEL_LABELS, '-l');

/** `ethtool -i`: the driver name, or null. */
export function parseDriver(text: string): string | null {
  const m = /^driver:\s*(\S+)/m.exec(text);
  return m ? m[1] : null;
}

/** The last meaningful line of an ethtool error, without the "netlink error:" prefix. */
export function ethtoolError(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const last = lines.filter((l) => !/^(Cannot get|Actual changes:)/.test(l)).pop() ?? lines.pop() ?? '';
  return last.replace(/^netlink error:\s*/, '').replace(/\s*\(offset \d+\)$/, '') || 'unknown error';
}
