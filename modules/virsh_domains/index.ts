// virsh_domains: the libvirt domains of a host and its free memory, for `register` and `when:`.
// Read-only; one round trip (one virsh session running four commands).
import type { Module } from '../../engine/module/contract.js';
import { CommandFailedError } from '../../engine/errors.js';
import { sh } from '../../engine/connection/quote.js';
import { parseDomStats, parseNames, parseNodeInfo, parseNodeMemStats, type DomainFact } from '../virsh_migrate/parse.js';
import { virshJoin, virshSections } from '../virsh_migrate/virsh.js';

export interface DomainsParams {
  uri?: string;
}

export interface DomainsState {
  domains: DomainFact[];
  free_memory_kib: number;
  total_memory_kib: number;
  cpus: number;
}

/** One virsh session: persistent names, every domain's state/memory/vCPUs, node CPUs and memory. */
export async function readDomains(host: import('../../engine/connection/host.js').Host, uri?: string): Promise<DomainsState> {
  const cmds = virshJoin(['list --all --persistent --name', 'domstats --state --balloon --vcpu', 'nodeinfo', 'nodememstats']);
  const r = await host.run(uri ? sh`virsh -q -c ${uri} ${cmds}` : sh`virsh -q ${cmds}`);
  const s = virshSections(r.stdout);
  if (r.code !== 0 || s.length < 4) throw new CommandFailedError(host.name, `virsh ${cmds}`, r.code, r.stderr, r.signal);
  const node = parseNodeInfo(s[2]);
  const mem = parseNodeMemStats(s[3]);
  return { domains: parseDomStats(s[1], parseNames(s[0])), free_memory_kib: mem.availableKib, total_memory_kib: mem.totalKib || node.memoryKib, cpus: node.cpus };
}

/** States in which a domain holds no QEMU process: everything else (paused, in shutdown, pmsuspended…) still lives here. */
const INACTIVE = new Set(['shut off', 'crashed']);

/** Domains with a live QEMU process on the host, whatever their state: a host running any is not empty. */
export const activeNames = (domains: DomainFact[]): string[] => domains.filter((d) => !INACTIVE.has(d.state)).map((d) => d.name);

export const virshDomains: Module<DomainsParams, DomainsState> = {
  name: 'virsh_domains',
  kind: 'state',
  summary: "Read a host's libvirt domains (state, memory, vCPUs) and free memory for `register` (changes nothing).",
  description:
    'register gets domains (a list of {name, state, memory_kib, vcpus, persistent}), running (the names of running domains), active (the names of every domain with a live QEMU process: running, paused, in shutdown, pmsuspended…), ' +
    'free_memory_kib (free + buffers + cached: what a new guest can take), total_memory_kib and cpus. ' +
    'One round trip: a single virsh session.',
  params: {
    uri: { type: 'str', description: 'libvirt URI to read (default: the host\'s own, qemu:///system for root).' },
  },
  examples: [
    '- virsh_domains: {}\n  register: hv\n- debug:\n    msg: "{{hv.running}} ({{hv.free_memory_kib}} KiB free)"',
    '- virsh_migrate:\n    domain: "{{item}}"\n    to: hv2\n  loop: "{{hv.running}}"',
  ],
  async read(ctx, p) {
    return readDomains(ctx.host, p.uri);
  },
  diff: () => [],
  result: (s) => ({
    domains: s.domains,
    running: s.domains.filter((d) => d.state === 'running').map((d) => d.name),
    active: activeNames(s.domains),
    free_memory_kib: s.free_memory_kib,
    total_memory_kib: s.total_memory_kib,
    cpus: s.cpus,
  }),
};
