// Variable layering for one host and task, lowest to highest precedence:
// inventory (incl. group_vars/host_vars) < play vars < vars_files < host facts (set_fact, register)
// < block/task vars < extra vars (-e), plus magic variables the engine provides.

export interface HostState {
  name: string;
  /** set_fact and register results for this host, for the rest of the run. */
  facts: Record<string, unknown>;
  /** Gathered facts (gather_facts), exposed as `facts` and `ansible_facts`. */
  gathered?: Record<string, unknown>;
}

export interface VarsLayers {
  inventory: Record<string, unknown>;
  play: Record<string, unknown>;
  host: HostState;
  task: Record<string, unknown>;
  extra: Record<string, unknown>;
  magic: Record<string, unknown>;
}

export function layerVars(l: VarsLayers): Record<string, unknown> {
  const gathered = l.host.gathered ? { facts: l.host.gathered, ansible_facts: l.host.gathered } : {};
  return { ...l.inventory, ...l.play, ...gathered, ...l.host.facts, ...l.task, ...l.extra, ...l.magic };
}

/**
 * `hostvars` without computing every host's variables up front (5,000 hosts × every task would
 * be quadratic): a read-only view that resolves a host's variables when it is looked up — each
 * time, so a set_fact or register made since is seen (the inventory layer is cached upstream).
 */
export function lazyHostvars(names: string[], resolve: (name: string) => Record<string, unknown>): Record<string, unknown> {
  const known = new Set(names);
  const get = (n: string) => resolve(n);
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
