// Variable layering for one host and task, lowest to highest precedence:
// inventory (incl. group_vars/host_vars) < play vars < vars_files < host facts (set_fact, register)
// < block/task vars < extra vars (-e), plus magic variables the engine provides. Role defaults
// sit below the inventory.
import { gatheredVariables } from '../facts/aliases.js';

export interface HostState {
  name: string;
  /** set_fact and register results for this host, for the rest of the run. */
  facts: Record<string, unknown>;
  /** Gathered facts (gather_facts), exposed as `facts` and `ansible_facts`. */
  gathered?: Record<string, unknown>;
}

export interface VarsLayers {
  /** Role defaults: the lowest layer, so inventory group_vars override them. */
  defaults?: Record<string, unknown>;
  inventory: Record<string, unknown>;
  play: Record<string, unknown>;
  host: HostState;
  task: Record<string, unknown>;
  extra: Record<string, unknown>;
  magic: Record<string, unknown>;
}

export function layerVars(l: VarsLayers): Record<string, unknown> {
  const gathered = l.host.gathered ? gatheredVariables(l.host.gathered) : {};
  return { ...l.defaults, ...l.inventory, ...l.play, ...gathered, ...l.host.facts, ...l.task, ...l.extra, ...l.magic };
}

/**
 * One host's variables as a live, read-only view over its layers (highest precedence first):
 * a lookup walks the layers instead of merging them, so `hostvars_of groups.hypervisors` on
 * every host costs a few property checks per lookup, and a set_fact made since is seen.
 */
export function hostView(layers: () => Array<Record<string, unknown>>): Record<string, unknown> {
  const find = (k: string): Record<string, unknown> | undefined => layers().find((l) => Object.prototype.hasOwnProperty.call(l, k));
  return new Proxy(Object.create(null) as Record<string, unknown>, {
    get: (_t, p) => (typeof p === 'string' ? find(p)?.[p] : undefined),
    has: (_t, p) => typeof p === 'string' && find(p) !== undefined,
    ownKeys: () => [...new Set(layers().flatMap((l) => Object.keys(l)))],
    getOwnPropertyDescriptor: (_t, p) => {
      const l = typeof p === 'string' ? find(p) : undefined;
      return l ? { value: l[p as string], enumerable: true, configurable: true, writable: false } : undefined;
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}

/** The layers of layerVars for `hostvars` (no task or magic layer), highest precedence first. */
export function hostvarLayers(l: Omit<VarsLayers, 'task' | 'magic'>): Array<Record<string, unknown>> {
  const gathered = l.host.gathered ? gatheredVariables(l.host.gathered) : {};
  return [l.extra, l.host.facts, gathered, l.play, l.inventory, l.defaults ?? {}];
}

/**
 * `hostvars` without computing every host's variables up front: each host's view is made on
 * first lookup and kept (it is live, so keeping it never goes stale).
 */
export function lazyHostvars(names: string[], view: (name: string) => Record<string, unknown>): Record<string, unknown> {
  const known = new Set(names);
  const views = new Map<string, Record<string, unknown>>();
  const get = (n: string) => {
    let v = views.get(n);
    if (!v) views.set(n, (v = view(n)));
    return v;
  };
  return new Proxy(Object.create(null) as Record<string, unknown>, {
    get: (_t, p) => (typeof p === 'string' && known.has(p) ? get(p) : undefined),
    has: (_t, p) => typeof p === 'string' && known.has(p),
    ownKeys: () => [...known],
    getOwnPropertyDescriptor: (_t, p) =>
      typeof p === 'string' && known.has(p) ? { value: get(p), enumerable: true, configurable: true, writable: false } : undefined,
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}
