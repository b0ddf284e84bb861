// Hosts grouped by the set of variable names they have: a fleet of thousands of hosts usually
// has a handful of distinct sets, so the undefined-variable check runs per set, not per host.
import type { HostVarSet } from './validate.js';

export function hostVarSets(hosts: Iterable<string>, namesOf: (host: string) => Iterable<string>): HostVarSet[] {
  const byKey = new Map<string, HostVarSet>();
  for (const h of hosts) {
    const names = [...new Set(namesOf(h))].sort();
    const key = names.join('\0');
    let set = byKey.get(key);
    if (!set) byKey.set(key, (set = { names: new Set(names), hosts: [] }));
    set.hosts.push(h);
  }
  return [...byKey.values()];
}
