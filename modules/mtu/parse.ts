// Pure parsers for the mtu module: `ip -d -j link show dev X` and the don't-fragment pings.
import { ModuleError } from '../../engine/errors.js';

export interface LinkInfo {
  mtu: number;
  minMtu: number | null;
  maxMtu: number | null;
  operstate: string;
}

/** `ip -d -j link show dev X` → the link's MTU and its limits (min_mtu/max_mtu come with -d). */
export function parseLink(json: string): LinkInfo {
  let arr: Array<Record<string, unknown>>;
  try {
    arr = JSON.parse(json) as Array<Record<string, unknown>>;
  } catch {
    throw new ModuleError(`ip -d -j link show printed no JSON (is iproute2 too old for -j?): ${JSON.stringify(json.slice(0, 200))}`);
  }
  if (!Array.isArray(arr) || arr.length !== 1 || typeof arr[0]?.mtu !== 'number') {
    throw new ModuleError(`ip -d -j link show printed no single link with an mtu: ${JSON.stringify(json.slice(0, 200))}`);
  }
  const l = arr[0];
  const num = (v: unknown) => (typeof v === 'number' ? v : null);
  return { mtu: l.mtu as number, minMtu: num(l.min_mtu), maxMtu: num(l.max_mtu), operstate: String(l.operstate ?? 'UNKNOWN') };
}

/** ICMP payload that makes a frame of exactly `mtu` bytes: IPv4 20 + ICMP 8, IPv6 40 + 8. */
export function payloadFor(mtu: number, peer: string): number {
  return mtu - (peer.includes(':') ? 48 : 28);
}

export interface PeerCheck {
  peer: string;
  /** The full-size don't-fragment ping got an answer. */
  ok: boolean;
  /** Whether a small ping got an answer (only tried when the big one failed). */
  reachable?: boolean;
  /** ping's own words when it complained ("message too long, mtu=1500"), for -v output. */
  detail?: string;
}

/**
 * A peer's section: the big ping's output, `@@big-rc N`, and when it failed the small ping's
 * output and `@@small-rc N`.
 */
export function parsePeerSection(peer: string, text: string): PeerCheck {
  const big = /^@@big-rc (\d+)$/m.exec(text);
  const small = /^@@small-rc (\d+)$/m.exec(text);
  if (!big) throw new ModuleError(`the path check printed no ping result for ${peer}: ${JSON.stringify(text.slice(0, 200))}`);
  if (big[1] === '0') return { peer, ok: true };
  const complaint = text
    .slice(0, big.index)
    .split('\n')
    .map((l) => l.trim())
    .find((l) => /^ping: /.test(l) || /Frag needed|message too long/i.test(l));
  const out: PeerCheck = { peer, ok: false, reachable: small ? small[1] === '0' : undefined };
  if (complaint) out.detail = complaint.replace(/^ping: /, '');
  return out;
}
