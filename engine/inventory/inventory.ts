// The loaded inventory: hosts, groups, variable precedence as Ansible computes it, patterns,
// and the `ansible-inventory --list / --graph` views.
import { dirname } from 'node:path';
import { PlayError } from '../errors.js';
import { assignVars, type InventoryData } from './data.js';
import type { VarsFiles } from './vars-files.js';
import { isIpAddress } from './host-range.js';
import { selectHosts, unmatchedTerms, type PatternSource } from './patterns.js';

export interface InventoryHost {
  name: string;
  /** Merged inventory variables (inventory files, group_vars/, host_vars/), without magic variables. */
  vars: Record<string, unknown>;
  /** All groups incl. ancestors and 'all', in precedence order (all first, then by depth, priority, name). */
  groups: string[];
}

export interface InventoryGroup {
  name: string;
  /** Hosts placed directly in the group. */
  hosts: string[];
  children: string[];
  /** The group's own variables: inventory file, then its group_vars/ files. */
  vars: Record<string, unknown>;
  parents: string[];
  depth: number;
  /** ansible_group_priority (1 unless set in an inventory file). */
  priority: number;
}

const LOCALHOST = new Set(['127.0.0.1', 'localhost', '::1']);

/** Variable names ansible-inventory never prints because Ansible provides them at play time. */
export const MAGIC_VARS = ['inventory_hostname', 'inventory_hostname_short', 'group_names', 'groups', 'inventory_file', 'inventory_dir'];

class LazyHost implements InventoryHost {
  private merged?: Record<string, unknown>;
  constructor(
    readonly name: string,
    readonly groups: string[],
    private readonly compute: () => Record<string, unknown>,
  ) {}
  get vars(): Record<string, unknown> {
    return (this.merged ??= this.compute());
  }
}

export class Inventory {
  readonly hosts = new Map<string, InventoryHost>();
  readonly groups = new Map<string, InventoryGroup>();
  /** Non-fatal findings (a group_vars file matching no group, a host named like a group). */
  readonly warnings: string[];
  private readonly groupHostCache = new Map<string, string[]>();
  private readonly hostSources = new Map<string, string>();
  private groupsMagic?: Record<string, string[]>;
  private implicit?: InventoryHost;
  private readonly inventoryAllVars: Record<string, unknown>;

  constructor(
    data: InventoryData,
    readonly sources: string[],
    /** Directories whose group_vars/ and host_vars/ apply, one per source, in source order. */
    private readonly varsBases: string[],
    private readonly files: VarsFiles,
  ) {
    this.warnings = [...data.warnings];
    const rank = (a: InventoryGroup, b: InventoryGroup): number =>
      a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    for (const g of data.groups.values()) {
      const own: Record<string, unknown> = { ...g.vars };
      for (const base of varsBases) for (const v of files.lookup(base, 'group_vars', g.name)) assignVars(own, v);
      this.groups.set(g.name, { name: g.name, hosts: g.hosts, children: g.children, parents: g.parents, vars: own, depth: g.depth, priority: g.priority });
    }
    const all = data.groups.get('all')!;
    this.inventoryAllVars = all.vars;
    for (const h of data.hosts.values()) {
      const ancestry = data.ancestry(h.direct);
      ancestry.add('all');
      const sorted = [...ancestry].filter((n) => n !== 'all').map((n) => this.groups.get(n)!).sort(rank);
      const groupNames = ['all', ...sorted.map((g) => g.name)];
      this.hostSources.set(h.name, h.source);
      this.hosts.set(
        h.name,
        new LazyHost(h.name, groupNames, () => {
          // Ansible's order: inventory group vars (all, then by depth/priority/name), then
          // group_vars/ files (all first, per source), then the host's own vars, then host_vars/.
          const out: Record<string, unknown> = {};
          assignVars(out, all.vars);
          for (const g of sorted) assignVars(out, data.groups.get(g.name)!.vars);
          for (const base of varsBases) for (const v of files.lookup(base, 'group_vars', 'all')) assignVars(out, v);
          for (const base of varsBases) for (const g of sorted) for (const v of files.lookup(base, 'group_vars', g.name)) assignVars(out, v);
          assignVars(out, h.vars);
          for (const base of varsBases) for (const v of files.lookup(base, 'host_vars', h.name)) assignVars(out, v);
          return out;
        }),
      );
    }
  }

  /** Every host of a group and of its descendants: the group first, then breadth-first, as Ansible lists them. */
  groupHosts(name: string): string[] {
    let cached = this.groupHostCache.get(name);
    if (cached) return cached;
    const start = this.groups.get(name);
    if (!start) return [];
    const order: InventoryGroup[] = [start];
    const visited = new Set([name]);
    for (let i = 0; i < order.length; i++) {
      for (const c of order[i].children) {
        if (!visited.has(c)) {
          visited.add(c);
          order.push(this.groups.get(c)!);
        }
      }
    }
    const seen = new Set<string>();
    cached = [];
    for (const g of order) for (const h of g.hosts) if (!seen.has(h)) seen.add(h), cached.push(h);
    this.groupHostCache.set(name, cached);
    return cached;
  }

  private implicitLocalhost(name: string): InventoryHost | undefined {
    if (!LOCALHOST.has(name) || this.hosts.has(name)) return undefined;
    if (this.implicit && this.implicit.name === name) return this.implicit;
    this.implicit = new LazyHost(name, [], () => {
      // In no group, not even `all`, yet it sees all's variables and group_vars/all, like Ansible's
      // implicit localhost (whose ansible_python_interpreter we have no use for).
      const out: Record<string, unknown> = {};
      assignVars(out, this.inventoryAllVars);
      for (const base of this.varsBases) for (const v of this.files.lookup(base, 'group_vars', 'all')) assignVars(out, v);
      out.ansible_connection = 'local';
      for (const base of this.varsBases) for (const v of this.files.lookup(base, 'host_vars', name)) assignVars(out, v);
      return out;
    });
    return this.implicit;
  }

  private patternSource(): PatternSource {
    return {
      groupNames: () => this.groups.keys(),
      hostNames: () => this.hosts.keys(),
      hasHost: (n) => this.hosts.has(n),
      groupHosts: (g) => this.groupHosts(g),
      implicitHost: (n) => this.implicitLocalhost(n)?.name,
    };
  }

  /** Host names matching an Ansible host pattern, in inventory order; [] when nothing matches. */
  select(pattern: string): string[] {
    return selectHosts(this.patternSource(), pattern);
  }

  /** Terms of a pattern naming no host and no group (typos): see unmatchedTerms. */
  unmatched(pattern: string): string[] {
    return unmatchedTerms(this.patternSource(), pattern);
  }

  host(name: string): InventoryHost | undefined {
    return this.hosts.get(name) ?? this.implicitLocalhost(name);
  }

  /** Magic `groups`: every group (incl. all and ungrouped) → its hosts. Shared and frozen. */
  groupsMap(): Record<string, string[]> {
    if (!this.groupsMagic) {
      const m: Record<string, string[]> = {};
      for (const g of this.groups.keys()) m[g] = Object.freeze([...this.groupHosts(g)]) as string[];
      this.groupsMagic = Object.freeze(m);
    }
    return this.groupsMagic;
  }

  /** Merged inventory variables plus the magic ones Ansible adds at play time. */
  hostVars(name: string): Record<string, unknown> {
    const h = this.host(name);
    if (!h) throw new PlayError(`host '${name}' is not in the inventory`);
    const source = this.hostSources.get(name);
    const out: Record<string, unknown> = { ...h.vars };
    out.inventory_hostname = name;
    out.inventory_hostname_short = isIpAddress(name) ? name : name.split('.')[0];
    out.group_names = h.groups.filter((g) => g !== 'all').sort();
    out.groups = this.groupsMap();
    out.inventory_file = source ?? null;
    out.inventory_dir = source ? dirname(source) : null;
    return out;
  }

  /** `ansible-inventory --list` (JSON view). */
  toList(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    const format = (g: InventoryGroup): void => {
      const entry: Record<string, unknown> = {};
      if (g.name !== 'all' && g.hosts.length) entry.hosts = [...g.hosts];
      if (g.children.length) entry.children = [...g.children];
      for (const c of g.children) {
        if (seen.has(c)) continue;
        format(this.groups.get(c)!);
        seen.add(c);
      }
      if (Object.keys(entry).length) out[g.name] = entry;
    };
    format(this.groups.get('all')!);
    const hostvars: Record<string, unknown> = {};
    for (const name of this.groupHosts('all')) {
      const v = this.hosts.get(name)!.vars;
      if (Object.keys(v).length) hostvars[name] = v;
    }
    out._meta = { hostvars };
    return out;
  }

  /** `ansible-inventory --graph [group]` text. */
  toGraph(group = 'all'): string {
    const start = this.groups.get(group);
    if (!start) throw new PlayError(`--graph needs a group name; '${group}' is not a group of the inventory`);
    const lines: string[] = [];
    const name = (text: string, depth: number): string => (depth ? '  |'.repeat(depth) + '--' + text : text);
    const walk = (g: InventoryGroup, depth: number): void => {
      lines.push(name(`@${g.name}:`, depth));
      for (const c of g.children) walk(this.groups.get(c)!, depth + 1);
      if (g.name !== 'all') for (const h of g.hosts) lines.push(name(h, depth + 1));
    };
    walk(start, 0);
    return lines.join('\n');
  }
}
