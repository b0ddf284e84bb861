import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { rootPath } from '../../engine/paths.js';
import { formatChange, normalizeDiff } from '../../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { parseLink, parsePeerSection, payloadFor } from '../../modules/mtu/parse.js';
import { ModuleError } from '../../engine/errors.js';
import { mtu, readScript, stateFromOutput, type MtuParams } from '../../modules/mtu/index.js';

const fx = (name: string) => readFileSync(rootPath('test/fixtures/mtu', name), 'utf8');

function params(p: Record<string, unknown>): MtuParams {
  const problems: SchemaProblem[] = [];
  const out = validateParams(mtu.params, { interface: 'eth1', mtu: 9000, verify_peers: ['198.18.99.2', '198.18.99.77'], ...p }, problems) as unknown as MtuParams;
  assert.deepEqual(problems, []);
  return out;
}

const judge = (file: string, p: Record<string, unknown> = {}) => {
  const prm = params(p);
  return normalizeDiff(mtu.diff!(stateFromOutput(prm, fx(file)), prm));
};

describe('mtu (read-script output captured on veth in namespaces)', () => {
  it('payload: frame minus IPv4/ICMP or IPv6/ICMP headers', () => {
    assert.equal(payloadFor(9000, '198.18.0.2'), 8972);
    assert.equal(payloadFor(9000, 'fd00::2'), 8952);
  });
  it('at 1500 with 9000 wanted: one disruptive change, the path check pending (no false failure)', () => {
    const d = judge('pending-1500.out');
    assert.deepEqual(d.changes.map(formatChange), ['eth1 mtu: 1500 → 9000 (disruptive)']);
    assert.deepEqual(d.failures, []);
    assert.deepEqual(d.warnings, ['path MTU check to 198.18.99.2, 198.18.99.77 pending: eth1 is at 1500, not yet 9000 (it runs once the MTU is set)']);
  });
  it('in sync, a peer whose eth1 is at 1500 fails with the exact sentence', () => {
    const d = judge('verify-peer-at-1500.out', { verify_peers: ['198.18.99.2'] });
    assert.deepEqual(d.changes, []);
    assert.deepEqual(d.failures, ['path MTU to 198.18.99.2 is below 9000 (a hop drops 8972-byte frames)']);
  });
  it('a peer that answers nothing is not blamed on the MTU', () => {
    const d = judge('verify-9000-ok-and-silent-peer.out');
    assert.deepEqual(d.failures, ['cannot verify the path MTU to 198.18.99.77: it does not answer ping']);
    const st = stateFromOutput(params({}), fx('verify-9000-ok-and-silent-peer.out'));
    assert.deepEqual(st.peers?.[0], { peer: '198.18.99.2', ok: true });
  });
  it('keeps ping\'s complaint for -v', () => {
    const st = stateFromOutput(params({}), fx('verify-peer-at-1500.out'));
    assert.deepEqual(st.peers?.[0], { peer: '198.18.99.2', ok: false, reachable: true, detail: 'sendmsg: No buffer space available' });
  });
  it('above the device maximum, and a missing interface', () => {
    assert.deepEqual(judge('pending-1500.out', { mtu: 65535 }).failures, []);
    assert.deepEqual(judge('pending-1500.out', { mtu: 65536 }).failures, ['eth1 mtu 65536 is above the device maximum 65535']);
    const st = stateFromOutput(params({}), fx('pending-1500.out'));
    assert.deepEqual(normalizeDiff(mtu.diff!({ ...st, link: { ...st.link!, maxMtu: 9000 } }, params({ mtu: 9216 }))).failures, ['eth1 mtu 9216 is above the device maximum 9000']);
    assert.deepEqual(judge('missing.out', { interface: 'eth9', verify_peers: [] }).failures, ['interface eth9 does not exist']);
  });
  it('refuses silly values before touching a host', () => {
    const problems: SchemaProblem[] = [];
    validateParams(mtu.params, { interface: 'eth1', mtu: 60, verify_peers: ['-f', '198.18.0.2'] }, problems);
    assert.deepEqual(problems.map((p) => `${p.path.join('.')}: ${p.message}`), ["mtu: must be between 68 (IPv4's minimum) and 65536 (loopback's, the largest Linux uses), got 60", "verify_peers.0: '-f' is not an address"]);
    const big: SchemaProblem[] = [];
    validateParams(mtu.params, { interface: 'eth1', mtu: 70000 }, big);
    assert.deepEqual(big.map((p) => p.message), ["must be between 68 (IPv4's minimum) and 65536 (loopback's, the largest Linux uses), got 70000"]);
  });
  it('the read script writes nothing: no temp dir, no redirection into a file', () => {
    const script = readScript(params({}));
    assert.doesNotMatch(script, /mktemp|\brm\b/);
    // The only redirections left are stderr into stdout or /dev/null.
    assert.doesNotMatch(script.replace(/2>&1|2>\/dev\/null/g, ''), />/);
  });
  it('the read script run for real (loopback peers) gives one section per peer, in order', () => {
    const prm = params({ interface: 'lo', mtu: 65536, verify_peers: ['127.0.0.1', '127.0.0.2', '127.0.0.3'] });
    const r = spawnSync('sh', ['-c', readScript(prm)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(r.status, 0, r.stderr);
    const st = stateFromOutput(prm, r.stdout);
    assert.equal(st.link?.mtu, 65536);
    // lo's 65536 exceeds the largest IPv4 packet: ping refuses the full frame, the small one answers.
    assert.deepEqual(st.peers?.map((c) => [c.peer, c.ok, c.reachable]), [['127.0.0.1', false, true], ['127.0.0.2', false, true], ['127.0.0.3', false, true]]);
    assert.deepEqual([...r.stdout.matchAll(/^@@play (\w+)@@$/gm)].map((m) => m[1]), ['link', 'p0', 'p1', 'p2']);
  });
  it('the read script is valid POSIX sh and pings only at the wanted MTU', () => {
    const script = readScript(params({}));
    assert.equal(spawnSync('sh', ['-n', '-c', script]).status, 0);
    assert.match(script, /ping -M do -s 8972 -c 1 -W 1 198\.18\.99\.2/);
    assert.match(script, /if \[ "\$cur" = 9000 \]/);
  });
});

describe('mtu set: false (verify only)', () => {
  it('reports no change and says why it did not verify when the MTU is not there yet', () => {
    const st = { link: { mtu: 1500, maxMtu: 65535, minMtu: 68 }, peers: undefined } as never;
    const d = mtu.diff!(st, { interface: 'eth1', mtu: 9000, set: false, verify_peers: ['198.18.0.2'] }) as { changes: unknown[]; skip?: string };
    assert.deepEqual(d.changes, []);
    assert.equal(d.skip, 'path MTU check skipped: eth1 is at 1500, not 9000');
  });
});

describe('mtu: unusual host output is a task failure naming it, not an internal error', () => {
  it('ip printing text instead of JSON (real `ip -d link show` output)', () => {
    assert.throws(() => parseLink(fx('link-text-not-json.out')), (e: Error) => e instanceof ModuleError && /^ip -d -j link show printed no JSON .*"1: lo: <LOOPBACK/.test(e.message));
    assert.throws(() => parseLink('[]'), (e: Error) => e instanceof ModuleError && /no single link with an mtu: "\[\]"/.test(e.message));
    assert.throws(() => parseLink('[null]'), ModuleError);
  });
  it('a peer section without its ping result', () => {
    assert.throws(() => parsePeerSection('198.18.0.2', 'sh: 1: ping: not found\n'), (e: Error) => e instanceof ModuleError && e.message === 'the path check printed no ping result for 198.18.0.2: "sh: 1: ping: not found\\n"');
  });
});
