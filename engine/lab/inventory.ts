// The lab's inventory: Ansible-compatible YAML, so ansible-playbook and play share it.
import yaml from 'js-yaml';
import { shQuote } from '../connection/quote.js';
import type { LabInfo } from './types.js';
import { PKI, labLibvirtUri } from './libvirt-config.js';
import { rebootScriptPath } from './reboot.js';

export const INVENTORY_HEADER = '# Written by `play lab up`; `play lab down` deletes it.';

export function renderInventory(info: LabInfo): string {
  const hosts: Record<string, Record<string, unknown>> = {};
  for (const h of info.hosts) {
    hosts[h.name] = {
      ansible_host: h.address,
      ansible_port: h.port,
      ansible_user: 'root',
      ansible_ssh_private_key_file: info.keyPath,
      migration_ip: h.migrationIp,
      migration_iface: 'eth1',
      // The lab's reboot of this host (engine/lab/reboot.ts): reboot_command for the reboot module.
      lab_reboot_command: rebootScriptPath(info.name, h.index),
      // How the source (and its daemon under --p2p) reaches this host's libvirtd: TLS on eth1.
      ...(info.libvirt ? { libvirt_uri: labLibvirtUri(h.migrationIp), libvirt_pkipath: PKI.clientDir } : {}),
    };
  }
  const doc = {
    all: {
      children: {
        hypervisors: {
          hosts,
          vars: {
            lab_name: info.name,
            lab_octet: info.octet,
            play_known_hosts_file: info.knownHostsPath,
            // The same host keys for real Ansible (OpenSSH), strictly checked.
            ansible_ssh_common_args: `-o UserKnownHostsFile=${shQuote(info.knownHostsPath)} -o StrictHostKeyChecking=yes`,
            ansible_python_interpreter: '/usr/bin/python3',
          },
        },
      },
    },
  };
  return `${INVENTORY_HEADER}\n# lab ${info.name}: ${info.hosts.length} hosts\n${yaml.dump(doc, { lineWidth: -1 })}${labOverrides(info)}`;
}

/**
 * What a network namespace cannot do, overridden for cluster-tune.yml — and only that, each
 * with its reason. Appended as YAML text (not yaml.dump) so the comments stay beside the values.
 */
function labOverrides(info: LabInfo): string {
  const pad = ' '.repeat(8); // inside all.children.hypervisors.vars, as yaml.dump indents it
  return [
    "# The lab's migration network (eth1 on the lab switch): the only source allowed to reach",
    '# the migration ports, as a site lists its migration/management networks.',
    'migration_networks:',
    `  - 198.18.${info.octet}.0/24`,
    '# net.core.rmem_max/wmem_max are read-only inside a network namespace (sysctl -w exits 0',
    '# and changes nothing): they are host-wide, so the lab skips that task.',
    'tune_net_core: false',
    '# veth has no ring buffers (ethtool -G exits 81, -g "Operation not supported").',
    'tune_rings: false',
  ]
    .map((l) => pad + l + '\n')
    .join('');
}
