// Pure parsers of virsh output (run with LC_ALL=C): job statistics, domain and node facts,
// versions and the CPU comparison. Fixtures: test/fixtures/virsh_migrate/.

/** virDomainJobType numbers as `domjobinfo --rawstats` prints them. */
const JOB_TYPES = ['none', 'bounded', 'unbounded', 'completed', 'failed', 'cancelled'] as const;
export type JobType = (typeof JOB_TYPES)[number] | 'unknown';

export interface JobInfo {
  type: JobType;
  /** virDomainJobOperation: 5 = outgoing migration, 4 = incoming. */
  operation?: number;
  /** Every numeric field (time_elapsed, data_remaining, memory_iteration …). */
  stats: Record<string, number>;
}

/** `virsh domjobinfo --rawstats DOM` (also with --completed): `key: value` lines. */
export function parseJobInfo(text: string): JobInfo {
  const stats: Record<string, number> = {};
  let type: JobType = 'unknown';
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z_ ]+?)\s*:\s*(.*?)\s*$/.exec(line);
    if (!m) continue;
    const [, key, value] = m;
    if (key === 'Job type') {
      const n = Number(value);
      type = Number.isInteger(n) && n >= 0 && n < JOB_TYPES.length ? JOB_TYPES[n] : ((JOB_TYPES as readonly string[]).includes(value.toLowerCase()) ? (value.toLowerCase() as JobType) : 'unknown');
      continue;
    }
    if (/^-?\d+(\.\d+)?$/.test(value)) stats[key.replace(/ /g, '_')] = Number(value);
  }
  const operation = stats.operation;
  delete stats.operation;
  return { type, operation, stats };
}

/** A job still in progress (bounded or unbounded). */
export const jobRunning = (j: JobInfo) => j.type === 'bounded' || j.type === 'unbounded';

/** Several `domjobinfo` outputs in one stream, each ended by a marker line (the watcher's). */
export function splitMarked(text: string, marker: string): { complete: string[]; rest: string } {
  const parts = text.split(`${marker}\n`);
  const rest = parts.pop() ?? '';
  return { complete: parts, rest };
}

export interface DomInfo {
  name: string;
  id?: number;
  uuid?: string;
  state: string;
  vcpus: number;
  maxMemoryKib: number;
  usedMemoryKib: number;
  persistent: boolean;
}

/** `virsh dominfo DOM` */
export function parseDomInfo(text: string): DomInfo {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z() ]+?):\s*(.*?)\s*$/.exec(line);
    if (m) f[m[1]] = m[2];
  }
  const kib = (v: string | undefined) => Number(/^(\d+)/.exec(v ?? '')?.[1] ?? NaN);
  return {
    name: f.Name ?? '',
    id: f.Id && f.Id !== '-' ? Number(f.Id) : undefined,
    uuid: f.UUID,
    state: f.State ?? 'unknown',
    vcpus: Number(f['CPU(s)'] ?? NaN),
    maxMemoryKib: kib(f['Max memory']),
    usedMemoryKib: kib(f['Used memory']),
    persistent: f.Persistent === 'yes',
  };
}

/** virDomainState numbers as `domstats --state` prints them. */
const DOMAIN_STATES = ['no state', 'running', 'idle', 'paused', 'in shutdown', 'shut off', 'crashed', 'pmsuspended'];

export interface DomainFact {
  name: string;
  state: string;
  memory_kib: number;
  vcpus: number;
  persistent: boolean;
}

/**
 * `virsh domstats --state --balloon --vcpu` (every domain, running or not) plus the names of
 * `virsh list --all --persistent --name`.
 */
export function parseDomStats(text: string, persistentNames: string[]): DomainFact[] {
  const out: DomainFact[] = [];
  const persistent = new Set(persistentNames);
  let cur: Record<string, string> | undefined;
  let name = '';
  const flush = () => {
    if (!cur) return;
    const state = Number(cur['state.state']);
    out.push({
      name,
      state: DOMAIN_STATES[state] ?? 'unknown',
      memory_kib: Number(cur['balloon.maximum'] ?? cur['balloon.current'] ?? 0),
      vcpus: Number(cur['vcpu.current'] ?? cur['vcpu.maximum'] ?? 0),
      persistent: persistent.has(name),
    });
  };
  for (const line of text.split('\n')) {
    const d = /^Domain: '(.*)'\s*$/.exec(line);
    if (d) {
      flush();
      name = d[1];
      cur = {};
      continue;
    }
    const kv = /^\s+([\w.]+)=(.*?)\s*$/.exec(line);
    if (kv && cur) cur[kv[1]] = kv[2];
  }
  flush();
  return out;
}

/** `virsh list --all --name` and friends: one name a line. */
export const parseNames = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);

export interface NodeInfo {
  cpus: number;
  memoryKib: number;
  cpuModel?: string;
}

/** `virsh nodeinfo` */
export function parseNodeInfo(text: string): NodeInfo {
  const f: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([^:]+):\s*(.*?)\s*$/.exec(line);
    if (m) f[m[1].trim()] = m[2];
  }
  return { cpus: Number(f['CPU(s)'] ?? NaN), memoryKib: Number(/^(\d+)/.exec(f['Memory size'] ?? '')?.[1] ?? NaN), cpuModel: f['CPU model'] };
}

/** `virsh nodememstats`: total, and what a new guest can take (free + buffers + cached). */
export function parseNodeMemStats(text: string): { totalKib: number; availableKib: number } {
  const f: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(\w+)\s*:\s*(\d+)\s*KiB/.exec(line);
    if (m) f[m[1]] = Number(m[2]);
  }
  return { totalKib: f.total ?? NaN, availableKib: (f.free ?? NaN) + (f.buffers ?? 0) + (f.cached ?? 0) };
}

export interface Versions {
  libvirt?: string;
  qemu?: string;
}

/** `virsh version`: the daemon's library and the running hypervisor. */
export function parseVersion(text: string): Versions {
  return {
    libvirt: /^Using library: libvirt (\S+)/m.exec(text)?.[1],
    qemu: /^Running hypervisor: QEMU (\S+)/m.exec(text)?.[1],
  };
}

/** -1, 0, 1 for dotted versions (9.0.0 vs 10.1). */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

export interface CpuCompare {
  compatible: boolean;
  /** identical, superset, incompatible, or the error text. */
  verdict: string;
  detail?: string;
}

/** `virsh hypervisor-cpu-compare FILE` (stdout + stderr, any exit code). */
export function parseCpuCompare(text: string): CpuCompare {
  // Both phrasings exist: "CPU described in F is incompatible with the CPU provided by
  // hypervisor on the host" and "The CPU provided by hypervisor on the host is a superset of CPU
  // described in F" (the host offers more: compatible).
  const m = /is (identical to|a superset of|incompatible with) the CPU provided by hypervisor/.exec(text) ?? /provided by hypervisor on the host is (identical to|a superset of) CPU described/.exec(text);
  if (m) {
    const verdict = m[1] === 'identical to' ? 'identical' : m[1] === 'a superset of' ? 'superset' : 'incompatible';
    const detail = /^(?:error: )?(.*(?:does not provide|features?).*)$/m.exec(text)?.[1]?.trim();
    return { compatible: verdict !== 'incompatible', verdict, ...(detail && verdict === 'incompatible' ? { detail } : {}) };
  }
  const err = text
    .split('\n')
    .map((l) => l.replace(/^error:\s*/, '').trim())
    .filter(Boolean)
    .join(': ');
  return { compatible: false, verdict: 'error', detail: err || 'no answer' };
}

/** The `<cpu>…</cpu>` element of a domain's XML (absent: the hypervisor's default model). */
export function domainCpuXml(domainXml: string): string | undefined {
  const m = /<cpu\b[^>]*\/>|<cpu\b[^>]*>[\s\S]*?<\/cpu>/.exec(domainXml);
  return m?.[0];
}
