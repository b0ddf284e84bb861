// The lab's inventory: Ansible-compatible YAML, so ansible-playbook and play share it.
import yaml from 'js-yaml';
import { shQuote } from '../quote.js';
import type { LabInfo } from './types.js';

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
  return `${INVENTORY_HEADER}\n# lab ${info.name}: ${info.hosts.length} hosts\n${yaml.dump(doc, { lineWidth: -1 })}`;
}
