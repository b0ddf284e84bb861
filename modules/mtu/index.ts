// mtu: the interface MTU (`ip link set dev X mtu N`, disruptive: the link flaps) and the path
// MTU towards the migration peers, verified with don't-fragment pings of the full frame size.
import { interfaceNameProblem, mtuProblem } from '../../engine/module/name-rules.js';
import type { ApplySteps, Change, DiffResult, Module, ProbeHost } from '../../engine/module/contract.js';
import type { ParamSchema } from '../../engine/module/schema.js';
import { ModuleError } from '../../engine/errors.js';
import { sh, shQuote } from '../../engine/connection/quote.js';
import { markedScript, parseMarked, type Probe, type Section } from '../../engine/connection/sections.js';
import { parseLink, parsePeerSection, payloadFor, type LinkInfo, type PeerCheck } from './parse.js';

export interface MtuParams {
  interface: string;
  mtu: number;
  verify_peers: string[];
  /** false: verify only, never change the MTU. */
  set: boolean;
}

export interface MtuState {
  interface: string;
  link: LinkInfo | null;
  /** Ping results, present only when the link was already at the desired MTU. */
  peers?: PeerCheck[];
}

const PEER_RE = /^[A-Za-z0-9_][A-Za-z0-9.:_%-]*$/;

const params: ParamSchema = {
  interface: { type: 'str', required: true, description: 'Network interface, e.g. eth1.', check: interfaceNameProblem },
  mtu: {
    type: 'int',
    required: true,
    description: 'Wanted MTU in bytes (e.g. 9000 for jumbo frames).',
    // The device's own bounds (ip -d shows min_mtu/max_mtu) are checked by read, so check mode sees them too.
    check: mtuProblem,
  },
  set: {
    type: 'bool',
    default: true,
    description:
      'false: only verify the paths at this MTU, never change it — for a verification task after every host has set its MTU (hosts change in parallel, so verifying in the same task can ping a peer still at the old MTU).',
  },
  verify_peers: {
    type: 'list',
    default: [],
    description: 'Addresses on the migration network: each must answer a don\'t-fragment ping of the full frame size (payload mtu−28), all pinged in parallel in one round trip.',
    elements: { type: 'str', description: 'peer address', check: (v: string) => (PEER_RE.test(v) ? undefined : `'${v}' is not an address`) },
  },
};

/** A peer's section: the full-size DF ping, then a small ping only when that fails. */
function peerSection(p: MtuParams, peer: string, i: number): Section {
  const big = sh`ping -M do -s ${payloadFor(p.mtu, peer)} -c 1 -W 1 ${peer}`;
  const small = sh`ping -c 1 -W 1 ${peer}`;
  return { name: `p${i}`, cmd: `${big}; r=$?; echo "@@big-rc $r"; if [ $r -ne 0 ]; then ${small}; echo "@@small-rc $?"; fi` };
}

/**
 * One script: the link as JSON, then — only if the link already has the wanted MTU — every peer
 * pinged in parallel (full size with DF; a small ping too when that fails, to tell "a hop drops
 * big frames" from "the peer does not answer"). Read only, so nothing is written: the pings run
 * as the stages of one pipeline (all at once), each holding its output in a variable, then
 * passing on the stages before it (cat) and adding its own section, so sections never interleave.
 */
export function readScript(p: MtuParams): string {
  const dev = p.interface;
  const lines = [
    `echo '@@play link@@'; ip -d -j link show dev ${shQuote(dev)} 2>&1; printf '\\n@@play-rc %s@@\\n' "$?"`,
    sh`cur=$(ip -o link show dev ${dev} 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "mtu") print $(i + 1)}')`,
  ];
  if (p.verify_peers.length) {
    // $(…) drops the section's final newline; printf puts it back. Stage 0 reads no stdin.
    const stages = p.verify_peers.map((peer, i) => `{ s=$(${markedScript([peerSection(p, peer, i)])}); ${i ? 'cat; ' : ''}printf '%s\\n' "$s"; }`);
    lines.push(`if [ "$cur" = ${p.mtu} ]; then`, stages.join(' |\n'), 'fi');
  }
  return lines.join('\n');
}

/** Pure: script output → state. */
export function stateFromOutput(p: MtuParams, out: string): MtuState {
  const s = parseMarked(out);
  if (!s.link) throw new ModuleError(`could not read ${p.interface}: the read script produced no output`);
  if (s.link.rc !== 0) return { interface: p.interface, link: null };
  const st: MtuState = { interface: p.interface, link: parseLink(s.link.text) };
  if (s.p0) st.peers = p.verify_peers.map((peer, i) => parsePeerSection(peer, s[`p${i}`]?.text ?? ''));
  return st;
}

/** The link and the peer pings in one script (pings take time: up to 30 s). */
function probe(p: MtuParams): Probe<MtuState> {
  return { script: readScript(p), parse: (r) => stateFromOutput(p, r.stdout), timeoutMs: 30_000, peers: p.verify_peers.length > 0 };
}

function diff(st: MtuState, p: MtuParams): DiffResult {
  const dev = p.interface;
  if (!st.link) return { changes: [], failures: [`interface ${dev} does not exist`] };
  const { mtu, maxMtu, minMtu } = st.link;
  if (maxMtu !== null && p.mtu > maxMtu) return { changes: [], failures: [`${dev} mtu ${p.mtu} is above the device maximum ${maxMtu}`] };
  if (minMtu !== null && p.mtu < minMtu) return { changes: [], failures: [`${dev} mtu ${p.mtu} is below the device minimum ${minMtu}`] };
  if (mtu !== p.mtu && p.set === false) {
    // The MTU itself is another task's business: only say why no verification happened.
    return { changes: [], failures: [], skip: `path MTU check skipped: ${dev} is at ${mtu}, not ${p.mtu}` };
  }
  if (mtu !== p.mtu) {
    const changes: Change[] = [{ path: `${dev} mtu`, from: mtu, to: p.mtu, disruptive: true }];
    // Pinging at the old MTU proves nothing about the new one: say so instead of failing falsely.
    const warnings = p.verify_peers.length
      ? [`path MTU check to ${p.verify_peers.join(', ')} pending: ${dev} is at ${mtu}, not yet ${p.mtu} (it runs once the MTU is set)`]
      : [];
    return { changes, failures: [], warnings };
  }
  const failures: string[] = [];
  for (const c of st.peers ?? []) {
    if (c.ok) continue;
    if (c.reachable === false) failures.push(`cannot verify the path MTU to ${c.peer}: it does not answer ping`);
    else failures.push(`path MTU to ${c.peer} is below ${p.mtu} (a hop drops ${payloadFor(p.mtu, c.peer)}-byte frames)`);
  }
  return { changes: [], failures, warnings: [] };
}

/** One command: the engine sends it with the re-read (the pings included) in one exec. */
function applySteps(p: MtuParams, _changes: Change[], _state: MtuState, h: ProbeHost): ApplySteps {
  const cmd = sh`ip link set dev ${p.interface} mtu ${p.mtu}`;
  return {
    steps: [{ run: cmd }],
    judge([r]) {
      if (r && r.code !== 0) throw new ModuleError(`${cmd} failed on ${h.hostName}: ${r.output.trim().replace(/^Error:\s*/, '').replace(/\.$/, '') || `exit ${r.code}`}`);
    },
  };
}

export const mtu: Module<MtuParams, MtuState> = {
  name: 'mtu',
  kind: 'state',
  summary: 'Interface MTU, and the path MTU to migration peers verified with don\'t-fragment pings',
  description: [
    'Reads `ip -d -j link show dev X` (MTU and the device limits) and sets `ip link set dev X mtu N`.',
    'Changing the MTU is disruptive (the link flaps).',
    '`verify_peers`: each peer gets `ping -M do -s MTU-28 -c 1 -W 1`, all in parallel in one round trip',
    '(read writes nothing on the host, not even a temporary file).',
    'A peer that drops the full frame fails the task — also in check mode, since it is a read:',
    '"path MTU to 198.18.0.2 is below 9000 (a hop drops 8972-byte frames)". A peer that does not answer',
    'even a small ping is reported as such. The check runs only when the interface already has the wanted',
    'MTU: pinging at the old MTU would prove nothing. So in check mode with the MTU still to change, the',
    'check is reported as pending (a warning); in a real run the engine re-reads after the change and the',
    'check runs then.',
  ].join('\n'),
  params,
  examples: [
    'mtu:\n  interface: eth1\n  mtu: 9000\n  verify_peers: [198.18.0.2, 198.18.0.3]',
  ],
  probe,
  diff,
  applySteps,
  result: (st) => ({ mtu: st.link?.mtu, peers: st.peers }),
};
