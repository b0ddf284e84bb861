// Where each guest really runs, from virsh_domains read on every hypervisor after the drain: the
// report's locations are observed, not inferred from what the migrations said.
import type { HostFacts } from '../evacuation_plan/plan.js';
import type { VmRow } from './rows.js';

export type FactsByHost = Record<string, HostFacts | { unreachable: string }>;

/** Rows with their observed location; `problems` names every guest running nowhere or twice. */
export function observe(rows: VmRow[], facts: FactsByHost): { rows: VmRow[]; problems: string[] } {
  const down = Object.entries(facts).filter(([, f]) => 'unreachable' in f).map(([h]) => h);
  const problems: string[] = [];
  const out = rows.map((r) => {
    const on = Object.entries(facts)
      .filter(([, f]) => !('unreachable' in f) && (f.active ?? f.running).includes(r.vm))
      .map(([h]) => h)
      .sort();
    if (on.length === 1) return { ...r, location: on[0] };
    if (on.length === 0 && down.length > 0) return { ...r, location: `unknown (not running on a reachable host; ${down.join(', ')} unreachable)` };
    if (r.result === 'would move' || r.result === 'fits nowhere') return { ...r, location: on.length ? on.join(' and ') : 'nowhere' };
    const what = on.length === 0 ? 'runs on no hypervisor' : `runs on ${on.length} hypervisors at once: ${on.join(', ')}`;
    problems.push(`${r.vm} ${what}`);
    return { ...r, location: on.length ? on.join(' and ') : 'NOWHERE' };
  });
  return { rows: out, problems };
}
