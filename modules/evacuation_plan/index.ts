// evacuation_plan: where each running guest of a hypervisor goes before maintenance, in what order
// and waves, and how long it should take. Runs inside the engine (also in check mode): the host is
// never touched; the facts come from virsh_domains on every hypervisor.
import type { Module } from '../../engine/module/contract.js';
import { plan, type HostFacts, type Plan, type PlanInput } from './plan.js';
import { parseDirtyRates } from './parse.js';
import { DOMAIN_NAME } from '../virsh_migrate/params.js';

export interface EvacuationPlanParams {
  source?: string;
  facts: unknown;
  exclude: string[];
  roll: string[];
  reserve_mib: number;
  pinned: Record<string, string>;
  anti_affinity: Record<string, string[]>;
  cpu_class?: Record<string, string>;
  parallel_per_source: number;
  parallel_per_target: number;
  parallel_per_cluster: number;
  bandwidth_mib_s: number;
  dirty_rate_mib_s: number;
  dirty_rates?: unknown;
  setup_s: number;
}

const positive = (v: number) => (v >= 1 ? undefined : 'must be at least 1');

/** virsh_domains results: a dict host → data, or a loop's results (each with `item` = the host). */
export function factsByHost(v: unknown): Record<string, HostFacts | { unreachable: string }> | string {
  const out: Record<string, HostFacts | { unreachable: string }> = {};
  const take = (host: string, d: Record<string, unknown>) => {
    if (d.failed || d.unreachable || !Array.isArray(d.domains)) out[host] = { unreachable: String(d.msg ?? 'no virsh_domains data') };
    else out[host] = d as unknown as HostFacts;
  };
  if (Array.isArray(v)) {
    for (const [i, r] of v.entries()) {
      if (!r || typeof r !== 'object' || typeof (r as Record<string, unknown>).item !== 'string') return `facts[${i}]: expected a loop result whose item is the host name`;
      take((r as Record<string, unknown>).item as string, r as Record<string, unknown>);
    }
  } else if (v && typeof v === 'object') {
    for (const [host, d] of Object.entries(v)) take(host, (d ?? {}) as Record<string, unknown>);
  } else return `facts: expected the virsh_domains results of the hypervisors, got ${JSON.stringify(v)}`;
  return out;
}

/** Measured dirty rates from domstats text or a dict (anything else, e.g. a failed measurement: none). */
function dirtyRatesOf(v: unknown): Record<string, number> | undefined {
  if (typeof v === 'string') return parseDirtyRates(v);
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    return Object.fromEntries(Object.entries(v).filter(([, n]) => typeof n === 'number' && n >= 0)) as Record<string, number>;
  }
  return undefined;
}

/** Each host's `cpu_class` variable, where it has one. */
function classesFromHostvars(vars: Record<string, unknown>, hosts: string[]): Record<string, string> {
  const hv = (vars.hostvars ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const out: Record<string, string> = {};
  for (const h of hosts) {
    const c = hv[h]?.cpu_class;
    if (typeof c === 'string' || typeof c === 'number') out[h] = String(c);
  }
  return out;
}

/** The hosts after `source` in the roll (all of it but the source when the source is not in it). */
export function stillToDrain(roll: string[], source: string): string[] {
  const at = roll.indexOf(source);
  return at >= 0 ? roll.slice(at + 1) : roll.filter((h) => h !== source);
}

export function planLines(p: Plan, inp: Pick<PlanInput, 'bandwidthMibS' | 'dirtyRateMibS'>): string[] {
  if (p.migrations.length === 0) return [`${p.source} runs no guests: nothing to move`];
  const measured = p.migrations.filter((m) => m.dirty_measured).length;
  const dirty = measured === p.migrations.length ? 'dirty rates measured per guest' : `dirty rate ${inp.dirtyRateMibS} MiB/s${measured ? `, ${measured} measured` : ''}`;
  const lines = [`evacuation of ${p.source}: ${p.migrations.length} guest(s) in ${p.waves.length} wave(s), expected ${p.expected_s} s (bandwidth ${inp.bandwidthMibS} MiB/s, ${dirty})`];
  const w = Math.max(...p.migrations.map((m) => m.vm.length));
  for (const m of p.migrations) {
    const d = `dirty ${m.dirty_rate_mib_s} MiB/s${m.dirty_measured ? ' measured' : ''}`;
    lines.push(`  wave ${m.wave}  ${m.vm.padEnd(w)}  ${String(m.memory_mib).padStart(6)} MiB  ${m.vcpus} vCPU  ${m.from} → ${m.to}  at ${m.start_s} s, ~${m.expected_s} s, ${d}  (${m.why})`);
  }
  for (const l of p.left_out) lines.push(`  not a target: ${l.host} (${l.reason})`);
  return lines;
}

export const evacuationPlanModule: Module<EvacuationPlanParams> = {
  name: 'evacuation_plan',
  kind: 'control',
  summary: 'Plan the live migrations that empty a hypervisor: target per guest, order, waves under the limits, expected duration.',
  description:
    'Pure placement from virsh_domains facts (never touches a host; runs in check mode too). Candidate targets are the other ' +
    'hypervisors whose facts were read, not excluded (hosts still to be drained in the roll only as a last resort), of the same cpu_class, with enough vCPUs and free ' +
    'memory minus reserve_mib. Pinned guests go to their pin; the others, biggest first, to the target with the most ' +
    'memory left; two guests of one anti_affinity group never share a target. A guest that fits nowhere fails the task ' +
    'naming it, its memory and each target\'s reason, before any migration. Waves follow the engine\'s keyed limits ' +
    '(parallel_per_source/target/cluster); expected time per guest = setup_s + memory / (bandwidth − dirty rate). ' +
    'Register data: migrations [{vm, memory_mib, vcpus, from, to, wave, start_s, expected_s, why}], waves, expected_s, ' +
    'left_out, return_migrations (the same guests back to the source, reverse order).',
  params: {
    source: { type: 'str', description: 'The hypervisor to empty (default: the task host).' },
    facts: { type: 'raw', required: true, description: 'virsh_domains results: a loop register\'s results (item = host) or a dict host → data.' },
    exclude: { type: 'list', elements: { type: 'str', description: 'host' }, default: [], description: 'Hosts that are never targets.' },
    roll: {
      type: 'list',
      elements: { type: 'str', description: 'host' },
      default: [],
      description: 'The hosts drained one after another in this run, in order (ansible_play_hosts_all under serial: 1): those after the source are still to be drained, so a guest goes there only when it fits on no other host (it moves again then); those before it are drained already and are targets like any other.',
    },
    reserve_mib: { type: 'int', default: 256, description: 'Memory each target keeps free (MiB).', check: (v: number) => (v >= 0 ? undefined : 'must be 0 or more') },
    pinned: { type: 'dict', values: { type: 'str', description: 'target' }, default: {}, description: 'Guest → the target it must go to.' },
    anti_affinity: { type: 'dict', values: { type: 'list', elements: { type: 'str', description: 'guest' }, description: 'guests' }, default: {}, description: 'Group → guests that never share a host.' },
    cpu_class: { type: 'dict', values: { type: 'str', description: 'class' }, description: 'Hypervisor → CPU class; guests move only within their source\'s class (default: each host\'s `cpu_class` variable, none = all alike).' },
    parallel_per_source: { type: 'int', default: 2, check: positive, description: 'Migrations out of the source at once.' },
    parallel_per_target: { type: 'int', default: 1, check: positive, description: 'Migrations into one target at once.' },
    parallel_per_cluster: { type: 'int', default: 5, check: positive, description: 'Migrations in the whole run at once.' },
    bandwidth_mib_s: { type: 'num', default: 128, check: (v: number) => (v > 0 ? undefined : 'must be more than 0'), description: 'Measured migration bandwidth (MiB/s).' },
    dirty_rate_mib_s: { type: 'num', default: 0, check: (v: number) => (v >= 0 ? undefined : 'must be 0 or more'), description: 'Dirty rate (MiB/s) of a guest without a measured one.' },
    dirty_rates: { type: 'raw', description: 'Measured dirty rates: `virsh -q domstats --dirtyrate` output (after domdirtyrate-calc), or a dict guest → MiB/s.' },
    setup_s: { type: 'num', default: 2, description: 'Fixed cost of one migration (connection, device state), seconds.' },
  },
  examples: [
    '- evacuation_plan:\n    facts: "{{hv_domains.results}}"\n    roll: "{{ansible_play_hosts_all}}"\n    parallel_per_source: 2\n    bandwidth_mib_s: 200\n  register: plan',
  ],
  async control(ctx, p) {
    const facts = factsByHost(p.facts);
    if (typeof facts === 'string') return { failed: true, msg: facts };
    const source = p.source ?? ctx.hostName;
    const inp: PlanInput = {
      source,
      facts,
      exclude: p.exclude,
      later: stillToDrain(p.roll, source),
      reserveMib: p.reserve_mib,
      pinned: p.pinned,
      antiAffinity: p.anti_affinity,
      cpuClass: p.cpu_class ?? classesFromHostvars(ctx.vars, Object.keys(facts)),
      limits: { perSource: p.parallel_per_source, perTarget: p.parallel_per_target, perCluster: p.parallel_per_cluster },
      bandwidthMibS: p.bandwidth_mib_s,
      dirtyRateMibS: p.dirty_rate_mib_s,
      dirtyRates: dirtyRatesOf(p.dirty_rates),
      setupS: p.setup_s,
    };
    const src = facts[source];
    if (!src || 'unreachable' in src) return { failed: true, msg: `no virsh_domains facts for ${source}${src ? `: ${src.unreachable}` : ''}: cannot plan its evacuation` };
    // virsh_migrate refuses these names: caught here, before the first guest moves, not mid-drain
    const badNames = src.domains.map((d) => d.name).filter((n) => (src.active ?? src.running).includes(n) && !DOMAIN_NAME.test(n));
    if (badNames.length > 0) {
      return { failed: true, msg: `cannot drain ${source}, nothing was migrated: virsh_migrate takes only domain names of letters, digits, . _ + - (at most 64, starting with a letter or digit), not ${badNames.map((n) => JSON.stringify(n)).join(', ')}` };
    }
    const out = plan(inp);
    const returns = [...out.migrations].reverse().map((m) => ({ vm: m.vm, from: m.to, to: m.from, memory_mib: m.memory_mib }));
    const data = { ...out, return_migrations: returns };
    if (out.unplaceable.length > 0) {
      const why = out.unplaceable.map((u) => `${u.vm} (${u.memory_mib} MiB, ${u.vcpus} vCPU) fits nowhere: ${u.reasons.join('; ')}`);
      const notTargets = out.left_out.map((l) => `not a target: ${l.host} (${l.reason})`);
      return { failed: true, msg: `cannot drain ${source}, nothing was migrated:\n${[...why, ...notTargets].join('\n')}`, data };
    }
    return { msg: planLines(out, inp).join('\n'), data };
  },
};
