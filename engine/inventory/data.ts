// The mutable inventory that the YAML, INI and host-list readers fill in; the same rules as
// Ansible's InventoryData/Group/Host: group depth, recursion checks, `all` and `ungrouped`.
import type { Problem, SourcePos } from '../errors.js';

export interface GroupData {
  name: string;
  /** Hosts placed directly in this group, in the order they were added. */
  hosts: string[];
  hostSet: Set<string>;
  children: string[];
  parents: string[];
  /** Variables from inventory files (group_vars/ files are kept apart: they rank higher). */
  vars: Record<string, unknown>;
  depth: number;
  priority: number;
}

export interface HostData {
  name: string;
  vars: Record<string, unknown>;
  /** Groups the host was placed in directly (ancestors are derived later). */
  direct: string[];
  /** The inventory file that first named the host (Ansible's inventory_file). */
  source: string;
}

/** Sets a key without ever touching an object's prototype (`__proto__` is a valid YAML key). */
export function setKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

export function assignVars(target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const k of Object.keys(source)) setKey(target, k, source[k]);
}

export class InventoryData {
  readonly groups = new Map<string, GroupData>();
  readonly hosts = new Map<string, HostData>();
  readonly problems: Problem[] = [];
  readonly warnings: string[] = [];
  currentSource = '';

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  addGroup(name: string): GroupData {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, hosts: [], hostSet: new Set(), children: [], parents: [], vars: {}, depth: 0, priority: 1 };
      this.groups.set(name, g);
    }
    return g;
  }

  /** Ansible's add_host: a port only counts the first time a host is seen. */
  addHost(name: string, group?: string, port?: number): HostData {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, vars: {}, direct: [], source: this.currentSource };
      if (port !== undefined) h.vars.ansible_port = port;
      this.hosts.set(name, h);
    }
    if (group !== undefined) {
      const g = this.groups.get(group)!;
      if (!g.hostSet.has(name)) {
        g.hosts.push(name);
        g.hostSet.add(name);
        h.direct.push(group);
      }
    }
    return h;
  }

  private isAncestor(candidate: GroupData, of: GroupData): boolean {
    const seen = new Set<string>();
    const stack = [...of.parents];
    while (stack.length) {
      const p = stack.pop()!;
      if (p === candidate.name) return true;
      if (seen.has(p)) continue;
      seen.add(p);
      stack.push(...this.groups.get(p)!.parents);
    }
    return false;
  }

  private deepen(g: GroupData): void {
    for (const c of g.children) {
      const child = this.groups.get(c)!;
      if (child.depth < g.depth + 1) {
        child.depth = g.depth + 1;
        this.deepen(child);
      }
    }
  }

  /** Makes `child` (an existing group) a child of `parent`; false and a problem on a loop. */
  addChild(parent: string, child: string, pos?: SourcePos): boolean {
    const p = this.groups.get(parent)!;
    const c = this.groups.get(child)!;
    if (p.children.includes(child)) return true;
    if (p === c || this.isAncestor(c, p)) {
      this.problems.push({ pos, message: `adding group '${child}' as a child of '${parent}' creates a loop (${child} is already an ancestor of ${parent})` });
      return false;
    }
    p.children.push(child);
    if (c.depth < p.depth + 1) {
      c.depth = p.depth + 1;
      this.deepen(c);
    }
    if (!c.parents.includes(parent)) c.parents.push(parent);
    return true;
  }

  setGroupVar(group: string, key: string, value: unknown, pos?: SourcePos): void {
    const g = this.groups.get(group)!;
    if (key === 'ansible_group_priority') {
      const n = typeof value === 'number' ? value : typeof value === 'string' && /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n)) this.problems.push({ pos, message: `ansible_group_priority of group '${group}' must be an integer, got ${JSON.stringify(value)}` });
      else g.priority = n;
      return;
    }
    setKey(g.vars, key, value);
  }

  /** All groups a host belongs to, through parents, including `all`. */
  ancestry(direct: string[]): Set<string> {
    const out = new Set<string>();
    const stack = [...direct];
    while (stack.length) {
      const name = stack.pop()!;
      if (out.has(name)) continue;
      out.add(name);
      stack.push(...this.groups.get(name)!.parents);
    }
    return out;
  }

  private removeFromGroup(host: HostData, group: string): void {
    const g = this.groups.get(group)!;
    g.hosts = g.hosts.filter((n) => n !== host.name);
    g.hostSet.delete(host.name);
    host.direct = host.direct.filter((n) => n !== group);
  }

  /** Ansible's reconcile_inventory: parentless groups join `all`; `ungrouped` is exactly the hosts in no other group. */
  reconcile(): void {
    for (const g of this.groups.values()) if (g.name !== 'all' && g.parents.length === 0) this.addChild('all', g.name);
    for (const h of this.hosts.values()) {
      const mine = this.ancestry(h.direct);
      if (h.direct.includes('ungrouped')) {
        for (const n of mine) {
          if (n !== 'all' && n !== 'ungrouped') {
            this.removeFromGroup(h, 'ungrouped');
            break;
          }
        }
      } else if (mine.size === 0 || (mine.size === 1 && mine.has('all'))) {
        this.addHost(h.name, 'ungrouped');
      }
    }
    for (const name of this.hosts.keys()) if (this.groups.has(name)) this.warnings.push(`Found both group and host with same name: ${name}`);
  }
}
