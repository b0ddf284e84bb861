// Pure parsers for the firewall module: addresses and ports in canonical form, and
// `nft -j list table …` output as normalised rule tuples (compared as data, never as text).
import { isIP } from 'node:net';
import { ModuleError } from '../../engine/errors.js';

/** One rule reduced to what matters for the diff. */
export interface RuleTuple {
  /** `ip` / `ip6` when the rule matches a source address, else null. */
  family: 'ip' | 'ip6' | null;
  /** Canonical source addresses/prefixes (sorted), or null when the rule has no saddr match. */
  saddr: string[] | null;
  /** Canonical destination ports `N` / `N-M` (sorted), or null. */
  dports: string[] | null;
  /** accept, drop, reject, jump X …; null when the rule has none. */
  verdict: string | null;
  /** Expressions this module does not write (counters, ct state, named sets), as JSON. */
  other: string[];
}

export interface ChainInfo {
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

export interface LiveTable {
  exists: boolean;
  chains: ChainInfo[];
  /** Rules per chain name, in order. */
  rules: Record<string, RuleTuple[]>;
  /** Other objects of the table (sets, maps, counters …) as `type name`. */
  objects: Array<{ type: string; name: string }>;
}

// ---------- addresses and ports ----------

function v6Groups(addr: string): number[] | undefined {
  let s = addr;
  let tail: number[] = [];
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const o = dotted[2].split('.').map(Number);
    tail = [(o[0] << 8) | o[1], (o[2] << 8) | o[3]];
    s = dotted[1].endsWith('::') ? dotted[1] : dotted[1].slice(0, -1);
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string) => (h === '' ? [] : h.split(':').map((g) => parseInt(g, 16)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = 8 - head.length - rest.length - tail.length;
  if (halves.length === 2 ? fill < 0 : fill !== 0) return undefined;
  return [...head, ...Array(halves.length === 2 ? fill : 0).fill(0), ...rest, ...tail];
}

/** RFC 5952 text (what nft prints): lowercase, longest zero run (≥ 2 groups) as `::`. */
function v6Text(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

export interface Cidr {
  family: 'ip' | 'ip6';
  /** Canonical text: bare address for a single host (/32, /128), else addr/len. */
  text: string;
}

/** Parses `198.18.24.2`, `198.18.24.0/24`, `fd00::/64`; throws a sentence on anything else. */
export function parseCidr(input: string): Cidr {
  const [addr, len, ...more] = String(input).trim().split('/');
  const kind = isIP(addr);
  if (more.length || kind === 0) throw new ModuleError(`'${input}' is not an IPv4 or IPv6 address or CIDR`);
  const bits = kind === 4 ? 32 : 128;
  if (len !== undefined && !/^\d{1,3}$/.test(len)) throw new ModuleError(`'${input}': prefix length must be a number`);
  const n = len === undefined ? bits : Number(len);
  if (n > bits) throw new ModuleError(`'${input}': prefix length must be 0..${bits}`);
  let value: bigint;
  let text: (v: bigint) => string;
  if (kind === 4) {
    value = addr.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
    text = (v) => [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 255n)).join('.');
  } else {
    value = v6Groups(addr)!.reduce((a, x) => (a << 16n) | BigInt(x), 0n);
    text = (v) => v6Text([...Array(8)].map((_, i) => Number((v >> BigInt(16 * (7 - i))) & 0xffffn)));
  }
  const hostBits = (1n << BigInt(bits - n)) - 1n;
  if (value & hostBits) throw new ModuleError(`'${input}' has host bits set: did you mean ${text(value & ~hostBits)}/${n}?`);
  return { family: kind === 4 ? 'ip' : 'ip6', text: n === bits ? text(value) : `${text(value)}/${n}` };
}

export interface PortRange {
  lo: number;
  hi: number;
}

/** `49152-49215`, `16514`, 16514 → a range; throws a sentence on anything else. */
export function parsePort(input: string | number): PortRange {
  const m = /^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$/.exec(String(input));
  if (!m) throw new ModuleError(`'${input}' is not a port or a port range like 49152-49215`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535) throw new ModuleError(`'${input}': ports are 1..65535`);
  if (lo > hi) throw new ModuleError(`'${input}': the range starts above its end`);
  return { lo, hi };
}

export const portText = (r: PortRange): string => (r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`);

/** Sorted canonical port texts, so `{ 49152-49215, 16514 }` equals `{ 16514, 49152-49215 }`. */
export function sortPorts(ports: PortRange[]): string[] {
  return [...ports].sort((a, b) => a.lo - b.lo).map(portText);
}

// ---------- nft -j ----------

type Json = any;

function addrOf(right: Json, family: 'ip' | 'ip6'): string[] | undefined {
  const one = (x: Json): string | undefined => {
    try {
      if (typeof x === 'string' && !x.startsWith('@')) return parseCidr(x).text;
      if (x && typeof x === 'object' && x.prefix) return parseCidr(`${x.prefix.addr}/${x.prefix.len}`).text;
    } catch {
      return undefined;
    }
    return undefined;
  };
  const items = right && typeof right === 'object' && Array.isArray(right.set) ? right.set : [right];
  const out = items.map(one);
  if (out.some((x: string | undefined) => x === undefined)) return undefined;
  if (out.some((x: string) => parseCidr(x).family !== family)) return undefined;
  return [...out].sort();
}

function portsOf(right: Json): string[] | undefined {
  const one = (x: Json): PortRange | undefined => {
    if (typeof x === 'number') return { lo: x, hi: x };
    if (x && typeof x === 'object' && Array.isArray(x.range)) return { lo: x.range[0], hi: x.range[1] };
    return undefined;
  };
  const items = right && typeof right === 'object' && Array.isArray(right.set) ? right.set : [right];
  const out = items.map(one);
  return out.some((x: PortRange | undefined) => x === undefined) ? undefined : sortPorts(out);
}

const VERDICTS = ['accept', 'drop', 'reject', 'return', 'continue', 'jump', 'goto', 'queue'];

/** One rule's `expr` list → tuple; anything this module does not write lands in `other`. */
export function ruleTuple(expr: Json[]): RuleTuple {
  const t: RuleTuple = { family: null, saddr: null, dports: null, verdict: null, other: [] };
  for (const e of expr) {
    const m = e?.match;
    const p = m?.left?.payload;
    if (m && m.op === '==' && p && (p.protocol === 'ip' || p.protocol === 'ip6') && p.field === 'saddr' && t.saddr === null) {
      const a = addrOf(m.right, p.protocol);
      if (a) {
        t.family = p.protocol;
        t.saddr = a;
        continue;
      }
    }
    if (m && m.op === '==' && p && p.protocol === 'tcp' && p.field === 'dport' && t.dports === null) {
      const ports = portsOf(m.right);
      if (ports) {
        t.dports = ports;
        continue;
      }
    }
    const key = e && typeof e === 'object' ? Object.keys(e)[0] : undefined;
    if (key && VERDICTS.includes(key) && t.verdict === null) {
      const target = e[key] && typeof e[key] === 'object' && e[key].target ? ` ${e[key].target}` : '';
      t.verdict = key + target;
      continue;
    }
    t.other.push(JSON.stringify(e));
  }
  return t;
}

/** Parses `nft -j list table FAMILY NAME` stdout. */
export function parseNftTable(stdout: string, family: string, name: string): LiveTable {
  let doc: Json;
  try {
    doc = JSON.parse(stdout) as Json;
  } catch {
    throw new ModuleError(`nft -j list table ${family} ${name} printed no JSON: ${JSON.stringify(stdout.slice(0, 200))}`);
  }
  const items: Json[] = Array.isArray(doc?.nftables) ? doc.nftables : [];
  const live: LiveTable = { exists: false, chains: [], rules: {}, objects: [] };
  for (const item of items) {
    const [type, o] = Object.entries(item)[0] as [string, Json];
    if (type === 'metainfo' || !o || o.family !== family) continue;
    if (type === 'table') {
      if (o.name === name) live.exists = true;
      continue;
    }
    if (o.table !== name) continue;
    if (type === 'chain') {
      live.chains.push({ name: o.name, type: o.type, hook: o.hook, prio: o.prio, policy: o.policy });
      live.rules[o.name] ??= [];
    } else if (type === 'rule') {
      (live.rules[o.chain] ??= []).push(ruleTuple(o.expr ?? []));
    } else {
      live.objects.push({ type, name: o.name });
    }
  }
  return live;
}

/** `nft list table` of a missing table: exit 1 and ENOENT; that is a state, not an error. */
export function isMissingTable(code: number | null, stderr: string): boolean {
  return code !== 0 && /No such file or directory/.test(stderr);
}
