// Generates YAML inventories of N hosts: for the fleet simulator and for the inventory-load bench.
//   node dist/bench/gen-inventory.js --hosts 1000 --out /tmp/inv [--ports 4 --base-port 22000]
//     [--style ranges|explicit] [--key K --known-hosts F]
// Hosts are `simNNNNN`, in racks of 40 (one range per rack), racks in sites (groups of groups).
// Rack r uses port base+(r mod ports). The simulator tells hosts apart by SSH username; the user
// is the host name: `ansible_user: "{{ inventory_hostname }}"` in group_vars/all.yml (ranges
// style) or written per host (explicit style, for engines that do not template connection vars).
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';

export interface InventorySpec {
  dir: string;
  hosts: number;
  ports?: number;
  basePort?: number;
  address?: string;
  style?: 'ranges' | 'explicit';
  rackSize?: number;
  racksPerSite?: number;
  /** Private key and known_hosts the clients use (written into group_vars/all.yml). */
  keyPath?: string;
  knownHostsPath?: string;
  prefix?: string;
}

export interface GeneratedInventory {
  /** The file to pass as `-i`. */
  file: string;
  hosts: number;
  groups: number;
  /** Every host with where it connects; handy for clients that do not read inventories. */
  targets: Array<{ name: string; address: string; port: number; user: string }>;
}

const q = (s: string) => JSON.stringify(s); // JSON strings are valid YAML scalars

export function hostName(prefix: string, i: number, width: number): string {
  return `${prefix}${String(i).padStart(width, '0')}`;
}

export function generateInventory(spec: InventorySpec): GeneratedInventory {
  const ports = spec.ports ?? 4;
  const basePort = spec.basePort ?? 22000;
  const address = spec.address ?? '127.0.0.1';
  const style = spec.style ?? 'ranges';
  const rackSize = spec.rackSize ?? 40;
  const racksPerSite = spec.racksPerSite ?? 50;
  const prefix = spec.prefix ?? 'sim';
  const width = Math.max(5, String(spec.hosts).length);
  if (!Number.isInteger(spec.hosts) || spec.hosts < 1) throw new Error(`hosts must be a positive integer, got ${spec.hosts}`);

  rmSync(spec.dir, { recursive: true, force: true });
  mkdirSync(join(spec.dir, 'group_vars'), { recursive: true });
  mkdirSync(join(spec.dir, 'host_vars'), { recursive: true });

  const racks = Math.ceil(spec.hosts / rackSize);
  const sites = Math.ceil(racks / racksPerSite);
  const targets: GeneratedInventory['targets'] = [];
  const out: string[] = ['all:', '  children:'];
  for (let s = 0; s < sites; s++) {
    const site = `site${String(s + 1).padStart(2, '0')}`;
    out.push(`    ${site}:`, '      children:');
    for (let r = s * racksPerSite; r < Math.min(racks, (s + 1) * racksPerSite); r++) {
      const first = r * rackSize + 1;
      const last = Math.min(spec.hosts, (r + 1) * rackSize);
      const port = basePort + (r % ports);
      out.push(`        rack${String(r + 1).padStart(4, '0')}:`, '          hosts:');
      if (style === 'ranges') {
        out.push(`            ${prefix}[${String(first).padStart(width, '0')}:${String(last).padStart(width, '0')}]:`);
        out.push('          vars:', `            ansible_port: ${port}`);
      }
      for (let i = first; i <= last; i++) {
        const name = hostName(prefix, i, width);
        targets.push({ name, address, port, user: name });
        if (style === 'explicit') out.push(`            ${name}: {ansible_port: ${port}, ansible_user: ${name}}`);
      }
    }
    writeFileSync(
      join(spec.dir, 'group_vars', `${site}.yml`),
      `# Site-wide migration settings\nmigration_network: 198.18.${27 + (s % 2)}.0/24\nmigration_port_min: 49152\nmigration_port_max: 49215\nsite_name: ${site}\n`,
    );
  }
  out.push('    hypervisors:', '      children:');
  for (let s = 0; s < sites; s++) out.push(`        site${String(s + 1).padStart(2, '0')}:`);

  const all = [
    '# Every simulated host is one SSH user on the fleet simulator',
    `ansible_host: ${address}`,
    ...(style === 'ranges' ? [`ansible_user: ${q('{{ inventory_hostname }}')}`] : []),
    ...(spec.keyPath ? [`ansible_ssh_private_key_file: ${q(resolve(spec.keyPath))}`] : []),
    ...(spec.knownHostsPath ? [`play_known_hosts_file: ${q(resolve(spec.knownHostsPath))}`] : []),
    ...(spec.knownHostsPath ? [`ansible_ssh_common_args: ${q(`-o UserKnownHostsFile=${resolve(spec.knownHostsPath)} -o StrictHostKeyChecking=yes`)}`] : []),
    'ansible_python_interpreter: /usr/bin/python3',
    'migration_iface: eth1',
    'tcp_rmem: "4096 87380 134217728"',
    'tcp_wmem: "4096 65536 134217728"',
  ];
  writeFileSync(join(spec.dir, 'group_vars', 'all.yml'), all.join('\n') + '\n');
  // A few per-host exceptions, as real fleets have.
  for (let i = 100; i <= spec.hosts; i += 100) {
    writeFileSync(join(spec.dir, 'host_vars', `${hostName(prefix, i, width)}.yml`), 'maintenance: true\nmigration_iface: eth2\n');
  }
  const file = join(spec.dir, 'hosts.yml');
  writeFileSync(file, out.join('\n') + '\n');
  return { file, hosts: spec.hosts, groups: racks + sites + 1, targets };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      hosts: { type: 'string', default: '1000' },
      out: { type: 'string' },
      ports: { type: 'string', default: '4' },
      'base-port': { type: 'string', default: '22000' },
      address: { type: 'string', default: '127.0.0.1' },
      style: { type: 'string', default: 'ranges' },
      key: { type: 'string' },
      'known-hosts': { type: 'string' },
    },
  });
  if (!values.out) throw new Error('--out DIR is required');
  if (values.style !== 'ranges' && values.style !== 'explicit') throw new Error("--style must be 'ranges' or 'explicit'");
  const g = generateInventory({
    dir: resolve(values.out),
    hosts: Number(values.hosts),
    ports: Number(values.ports),
    basePort: Number(values['base-port']),
    address: values.address,
    style: values.style,
    keyPath: values.key,
    knownHostsPath: values['known-hosts'],
  });
  process.stdout.write(`${g.file}: ${g.hosts} hosts, ${g.groups} groups\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) main();
