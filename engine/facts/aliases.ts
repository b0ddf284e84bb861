// Ansible's fact names next to play's own `facts.*`: `ansible_facts.distribution`,
// `ansible_distribution`, `ansible_hostname`… so an operator's conditions carry over.
import type { Facts } from './gather.js';

/** Ansible's os_family for the distributions play knows by ID. */
const OS_FAMILY: Record<string, string> = { debian: 'Debian', ubuntu: 'Debian', rhel: 'RedHat', centos: 'RedHat', rocky: 'RedHat', almalinux: 'RedHat', fedora: 'RedHat', sles: 'Suse', opensuse: 'Suse' };

/** Ansible's short names (without the ansible_ prefix), computed from play's facts. */
export function ansibleFactNames(f: Partial<Facts>): Record<string, unknown> {
  const os = f.os ?? null;
  const version = os?.version ?? null;
  const hostname = f.hostname ?? null;
  return {
    hostname: hostname?.split('.')[0] ?? null,
    nodename: hostname,
    fqdn: hostname,
    kernel: f.kernel ?? null,
    system: 'Linux',
    distribution: os?.distribution ?? null,
    distribution_version: version,
    distribution_major_version: version?.split('.')[0] ?? null,
    distribution_release: os?.codename ?? null,
    os_family: (os?.id && OS_FAMILY[os.id]) ?? os?.distribution ?? null,
    processor_vcpus: f.cpu?.count ?? null,
    processor_count: f.cpu?.count ?? null,
    memtotal_mb: typeof f.memory_total_bytes === 'number' ? Math.floor(f.memory_total_bytes / 1048576) : null,
    interfaces: Object.keys(f.interfaces ?? {}),
    default_ipv4: f.default_ipv4 ? { interface: f.default_ipv4.interface, address: f.default_ipv4.address, gateway: f.default_ipv4.gateway } : {},
    service_mgr: f.systemd ? 'systemd' : 'sysvinit',
  };
}

/** Every top-level `ansible_*` name the aliases define (for the validator's known names). */
export const ANSIBLE_FACT_VARIABLES = Object.keys(ansibleFactNames({})).map((k) => `ansible_${k}`);

/**
 * The variables gathered facts add: `facts` (play's names), `ansible_facts` (play's names plus
 * Ansible's) and each Ansible name as a top-level `ansible_X`.
 */
export function gatheredVariables(gathered: Record<string, unknown>): Record<string, unknown> {
  const aliases = ansibleFactNames(gathered as Partial<Facts>);
  const top = Object.fromEntries(Object.entries(aliases).map(([k, v]) => [`ansible_${k}`, v]));
  return { ...top, facts: gathered, ansible_facts: { ...gathered, ...aliases } };
}
