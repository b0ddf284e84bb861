// Preflight: everything that would make a migration fail, checked before it starts, each a clear
// sentence. Reads only: two round trips on the source (its own facts, then the destination as
// the migration will see it: control URI, CPU, memory, firewall, link) and one on the destination.
import type { Host } from '../../engine/connection/host.js';
import { sh, shQuote } from '../../engine/connection/quote.js';
import { parseConf } from '../qemu_conf/parse.js';
import { compareVersions, domainCpuXml, parseCpuCompare, parseNodeMemStats, parseVersion, type DomInfo, type Versions } from './parse.js';
import { virshJoin, virshSections } from './virsh.js';
import { estimateSeconds } from './policy.js';
import type { MigrateParams, MigrateRun } from './params.js';

export interface Dest {
  name: string;
  uri: string;
  /** The address migration data goes to (destination qemu.conf migration_host, else migration_ip). */
  address?: string;
}

export interface PreflightResult {
  problems: string[];
  warnings: string[];
  /** "X GiB; estimated Y s …" for the would-migrate line. */
  estimate: string;
  estimateS?: number;
  versions: { source: Versions; dest: Versions };
}

const MiB = 1048576;

/** `@@sec NAME RC` sections printed by the shell scripts below. */
function sections(stdout: string): Map<string, { rc: number; text: string }> {
  const out = new Map<string, { rc: number; text: string }>();
  let cur: { rc: number; text: string } | undefined;
  for (const line of stdout.split('\n')) {
    const m = /^@@sec (\w+) (\d+)$/.exec(line);
    if (m) out.set(m[1], (cur = { rc: Number(m[2]), text: '' }));
    else if (cur) cur.text += `${line}\n`;
  }
  return out;
}

/** `sec NAME CMD`: runs CMD, prints its rc as a section header and its output (stderr too). */
const sec = (name: string, cmd: string) => `out=$(${cmd} 2>&1); echo "@@sec ${name} $?"; printf '%s\\n' "$out"`;

type Conf = Map<string, { value: unknown }>;

/** Both hosts' /etc/libvirt/qemu.conf, read in parallel (an absent file reads as empty). */
export interface Confs {
  src: Conf;
  dst: Conf;
}

export async function readConfs(src: Host, dst: Host): Promise<Confs> {
  const read = async (h: Host) => parseConf((await h.readFile('/etc/libvirt/qemu.conf'))?.toString('utf8') ?? '');
  const [s, d] = await Promise.all([read(src), read(dst)]);
  return { src: s, dst: d };
}

const forcesTls = (conf: Conf): boolean => {
  const v = conf.get('migrate_tls_force')?.value;
  return v === 1 || v === '1' || v === true;
};

/** tls: auto → TLS when either host forces it (QEMU refuses a plain stream there). */
export function resolveTls(setting: boolean | 'auto', confs: Confs): boolean {
  return setting === 'auto' ? forcesTls(confs.src) || forcesTls(confs.dst) : setting;
}

interface SourceFacts {
  versions: Versions;
  xml: string;
  disks: string[];
  conf: Conf;
}

async function sourceFacts(src: Host, domain: string, conf: Conf): Promise<SourceFacts> {
  const cmds = virshJoin(['version', `dumpxml ${domain}`, `domblklist --details ${domain}`]);
  // The dirty-rate sample runs in QEMU while the other checks go on; read in the second trip.
  const r = await src.run(`virsh -q domdirtyrate-calc ${shQuote(domain)} --seconds 1 >/dev/null 2>&1; ${sh`virsh -q ${cmds}`}`);
  const s = virshSections(r.stdout);
  const disks = (s[2] ?? '')
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w.length >= 4 && (w[0] === 'file' || w[0] === 'block') && w[1] === 'disk' && w[3] !== '-')
    .map((w) => w.slice(3).join(' '));
  return { versions: parseVersion(s[0] ?? ''), xml: s[1] ?? '', disks, conf };
}

/** The second source trip: the destination as the migration sees it, over the migration network. */
export function destScript(domain: string, dest: Dest, port: number, virtType: string, hasCpu: boolean, tlsDir: string | undefined): string {
  const lines = [sec('dest', sh`virsh -q -c ${dest.uri} ${virshJoin(['version', 'nodememstats'])}`)];
  if (hasCpu) lines.push(sec('cpu', sh`virsh -q -c ${dest.uri} hypervisor-cpu-compare --virttype ${virtType} /dev/stdin`));
  if (dest.address && validAddress(dest.address)) {
    // A closed port answers at once (refused); a drop times out. The address reaches bash as "$1",
    // never as part of its script.
    lines.push(sec('port', `timeout 3 bash -c ${shQuote(`exec 3<>"/dev/tcp/$1/${port}"`)} _ ${shQuote(dest.address)}`));
    lines.push(
      sec('link', `dev=$(ip -o route get ${shQuote(dest.address)} | sed -n 's/.* dev \\([^ ]*\\).*/\\1/p'); echo "dev $dev"; echo "speed $(cat /sys/class/net/$dev/speed 2>/dev/null)"; tc qdisc show dev "$dev"`),
    );
  }
  if (tlsDir) lines.push(sec('tlsclient', sh`openssl x509 -noout -checkend 0 -in ${`${tlsDir}/client-cert.pem`}`));
  // The 1 s sample started in the first trip: wait for it (calc_status 2 = measured), at most 2 s.
  const stats = sh`virsh -q domstats --dirtyrate ${domain}`;
  lines.push(sec('dirty', `i=0; while :; do s=$(${stats}); case "$s" in *calc_status=2*) break;; esac; i=$((i+1)); [ $i -ge 8 ] && break; sleep 0.25; done; printf '%s\\n' "$s"`));
  return lines.join('\n');
}

/** The destination's own view: qemu.conf (TLS force, migration_host, ports) and its server certificate. */
async function destFacts(dst: Host, tls: boolean, conf: Conf): Promise<{ conf: Conf; cert?: { rc: number; text: string } }> {
  if (!tls) return { conf };
  const dir = String(conf.get('migrate_tls_x509_cert_dir')?.value ?? conf.get('default_tls_x509_cert_dir')?.value ?? '/etc/pki/qemu');
  const f = `${dir}/server-cert.pem`;
  const r = await dst.run(sec('cert', sh`openssl x509 -noout -checkend 0 -ext subjectAltName -in ${f}`));
  return { conf, cert: sections(r.stdout).get('cert') };
}

export interface PreflightInput {
  src: Host;
  dst: Host;
  srcName: string;
  dest: Dest;
  info: DomInfo;
  p: MigrateRun;
  confs: Confs;
}

export async function preflight(inp: PreflightInput): Promise<PreflightResult> {
  const { src, dst, p, dest, info } = inp;
  const [sf, df] = await Promise.all([sourceFacts(src, p.domain, inp.confs.src), destFacts(dst, p.tls, inp.confs.dst)]);
  const destConf = df.conf;
  dest.address = String(destConf.get('migration_host')?.value ?? dest.address ?? '') || undefined;
  const port = Number(destConf.get('migration_port_min')?.value ?? 49152);
  const cpuXml = domainCpuXml(sf.xml);
  const virtType = /<domain[^>]*type=['"](\w+)['"]/.exec(sf.xml)?.[1] ?? 'kvm';
  const srcTlsDir = p.tls ? String(sf.conf.get('migrate_tls_x509_cert_dir')?.value ?? '/etc/pki/qemu') : undefined;
  const r = await src.run(destScript(p.domain, dest, port, virtType, !!cpuXml, srcTlsDir), { stdin: cpuXml ?? '' });
  const s = sections(r.stdout);
  const problems: string[] = [];
  const warnings: string[] = [];
  const destSec = s.get('dest');
  const destSections = virshSections(destSec?.text ?? '');
  const destVersions = parseVersion(destSections[0] ?? '');
  if (!destSec || destSec.rc !== 0 || !destVersions.libvirt) {
    problems.push(`destination libvirt on ${dest.name} is unreachable from ${inp.srcName} over the migration network (${dest.uri}): ${oneLine(destSec?.text) || 'no answer'}`);
  } else {
    versionProblems(inp.srcName, dest.name, sf.versions, destVersions, problems);
    memoryProblem(dest.name, info, parseNodeMemStats(destSections[1] ?? '').availableKib, p.reserve_memory_mib, problems);
    const cpu = s.get('cpu');
    if (cpu) {
      const c = parseCpuCompare(cpu.text);
      if (!c.compatible) problems.push(`CPU incompatible: ${p.domain}'s CPU ${c.verdict === 'error' ? 'cannot be compared with' : 'is incompatible with'} ${dest.name}'s (${c.detail ?? c.verdict})`);
    }
  }
  portProblem(s.get('port'), dest, port, inp.srcName, problems);
  tlsProblems(p, dest, destConf, df.cert, s.get('tlsclient'), inp.srcName, srcTlsDir, problems);
  if (p.copy_storage === 'none' && sf.disks.length) await storageProblems(dst, dest.name, sf.disks, problems);
  const est = estimate(info, p, s.get('link')?.text ?? '', s.get('dirty')?.text ?? '');
  return { problems, warnings, estimate: est.text, estimateS: est.seconds, versions: { source: sf.versions, dest: destVersions } };
}

const oneLine = (t: string | undefined) => (t ?? '').replace(/^error:\s*/gm, '').trim().split('\n').filter(Boolean).join('; ');

function versionProblems(src: string, dst: string, a: Versions, b: Versions, problems: string[]): void {
  for (const [what, x, y] of [['libvirt', a.libvirt, b.libvirt], ['QEMU', a.qemu, b.qemu]] as const) {
    if (x && y && compareVersions(y, x) < 0) problems.push(`${dst} runs ${what} ${y}, older than ${src}'s ${x}: migrating to an older ${what} is not supported`);
  }
}

function memoryProblem(dst: string, info: DomInfo, availableKib: number, reserveMib: number, problems: string[]): void {
  if (!Number.isFinite(availableKib)) return;
  const needKib = info.maxMemoryKib || info.usedMemoryKib;
  const usable = availableKib - reserveMib * 1024;
  if (needKib > usable) {
    problems.push(
      `not enough memory on ${dst}: ${info.name} needs ${Math.round(needKib / 1024)} MiB, ${dst} has ${Math.round(availableKib / 1024)} MiB available${reserveMib ? ` of which ${reserveMib} MiB are reserved (reserve_memory_mib)` : ''}`,
    );
  }
}

/** An IPv4/IPv6 address or a host name: what may stand for the migration address. */
export function validAddress(a: string): boolean {
  return /^(?:[0-9.]+|[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*)$/.test(a);
}

function portProblem(port: { rc: number; text: string } | undefined, dest: Dest, n: number, srcName: string, problems: string[]): void {
  if (dest.address && !validAddress(dest.address)) {
    problems.push(`migration address '${dest.address}' of ${dest.name} (migration_host in its qemu.conf, else migration_ip) is not an IP address or host name`);
    return;
  }
  if (!port) return;
  // Limitation: a firewall `reject` rule answers "Connection refused" too, exactly like a port
  // nothing listens on yet (the normal case before the migration): it passes this check, and the
  // migration itself then fails with the firewall named (diagnose.ts).
  if (port.rc === 0 || /Connection refused/.test(port.text)) return;
  const why = port.rc === 124 ? 'the connection timed out: the destination firewall drops it' : `${oneLine(port.text)}: the destination firewall rejects it or there is no route`;
  problems.push(`firewall: migration port ${n} on ${dest.name} (${dest.address}) is not reachable from ${srcName}: ${why}`);
}

function tlsProblems(
  p: MigrateRun,
  dest: Dest,
  conf: Map<string, { value: unknown }>,
  cert: { rc: number; text: string } | undefined,
  client: { rc: number; text: string } | undefined,
  srcName: string,
  srcDir: string | undefined,
  problems: string[],
): void {
  if (!p.tls && forcesTls(conf)) {
    problems.push(`${dest.name} forces TLS for migrations (migrate_tls_force = 1 in /etc/libvirt/qemu.conf): a migration without tls would be refused; set tls: true or auto`);
  }
  if (!p.tls || !cert) return;
  if (/No such file|Could not open|Can't open/i.test(cert.text)) problems.push(`TLS: ${dest.name} has no migration server certificate (${oneLine(cert.text)})`);
  else if (cert.rc !== 0) problems.push(`TLS: ${dest.name}'s migration server certificate has expired`);
  else if (dest.address && !sanIncludes(cert.text, dest.address)) {
    problems.push(`TLS: ${dest.name}'s migration certificate does not match migration_host ${dest.address} (certificate/hostname mismatch; subject alternative names: ${sanList(cert.text) || 'none'})`);
  }
  if (client && client.rc !== 0) problems.push(`TLS: ${srcName}'s migration client certificate ${srcDir}/client-cert.pem is missing or expired (${oneLine(client.text)})`);
}

const sanList = (text: string) => (/X509v3 Subject Alternative Name:\s*\n\s*(.+)/.exec(text)?.[1] ?? '').trim();

function sanIncludes(text: string, address: string): boolean {
  return sanList(text)
    .split(/,\s*/)
    .some((e) => e === `IP Address:${address}` || e === `DNS:${address}`);
}

async function storageProblems(dst: Host, name: string, disks: string[], problems: string[]): Promise<void> {
  const r = await dst.run(disks.map((d) => sh`[ -e ${d} ] || echo ${d}`).join('\n'));
  for (const missing of r.stdout.split('\n').filter(Boolean)) {
    problems.push(`storage: disk ${missing} is not on ${name} (no shared storage there): set copy_storage: all (or inc)`);
  }
}

/** "0.25 GiB; estimated 2 s at ≤ 1192 MiB/s (link) and 16 MiB/s dirty rate" */
export function estimate(info: DomInfo, p: MigrateParams, link: string, dirty: string): { text: string; seconds?: number } {
  const bytes = (info.maxMemoryKib || info.usedMemoryKib) * 1024;
  const gib = `${(bytes / 1024 ** 3).toFixed(2)} GiB`;
  const rates: Array<[number, string]> = [];
  if (p.bandwidth_mib) rates.push([p.bandwidth_mib * MiB, 'bandwidth_mib']);
  const speed = Number(/^speed (\d+)/m.exec(link)?.[1]);
  if (speed > 0) rates.push([(speed * 1e6) / 8, 'link speed']);
  const tbf = /rate (\d+(?:\.\d+)?)([KMG]?)bit/.exec(link);
  if (tbf) rates.push([(Number(tbf[1]) * { '': 1, K: 1e3, M: 1e6, G: 1e9 }[tbf[2] as '' | 'K' | 'M' | 'G']) / 8, 'shaped link']);
  const dirtyMb = Number(/dirtyrate\.megabytes_per_second=(\d+)/.exec(dirty)?.[1]);
  if (!rates.length) return { text: `${gib}; no bandwidth known to estimate the time` };
  const [bps, what] = rates.reduce((a, b) => (b[0] < a[0] ? b : a));
  // QEMU's "megabytes" per second are dirtied pages × page size >> 20: MiB/s.
  const dirtyBps = Number.isFinite(dirtyMb) ? dirtyMb * MiB : 0;
  const s = estimateSeconds(bytes, bps, dirtyBps);
  const at = `at ≤ ${Math.round(bps / MiB)} MiB/s (${what})${Number.isFinite(dirtyMb) ? ` and ${dirtyMb} MiB/s measured dirty rate` : ''}`;
  if (s === undefined) return { text: gib };
  if (!Number.isFinite(s)) return { text: `${gib}; will not converge by pre-copy alone ${at}: the policy has to steer` };
  return { text: `${gib}; estimated ${s < 10 ? s.toFixed(1) : Math.round(s)} s ${at}`, seconds: s };
}
