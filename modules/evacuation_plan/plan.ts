// Pure placement for draining one hypervisor: which target each running guest goes to, in what
// order, in which waves under the per-source/per-target/cluster limits, and how long it should take.
// No I/O: the inputs are the virsh_domains facts of every hypervisor.

export interface DomainFact {
  name: string;
  state: string;
  memory_kib: number;
  vcpus: number;
  persistent?: boolean;
}

/** virsh_domains register data of one hypervisor, or why it could not be read. */
export interface HostFacts {
  domains: DomainFact[];
  running: string[];
  /** Every domain with a live QEMU process (running, paused…): virsh_domains' `active`. */
  active?: string[];
  free_memory_kib: number;
  total_memory_kib?: number;
  cpus: number;
}

export interface PlanInput {
  source: string;
  facts: Record<string, HostFacts | { unreachable: string }>;
  /** Hosts never chosen as targets. */
  exclude: string[];
  /** Hosts still to be drained in this roll: targets only for a guest that fits on no other (it moves again then). */
  later?: string[];
  reserveMib: number;
  pinned: Record<string, string>;
  antiAffinity: Record<string, string[]>;
  /** Hypervisor → CPU class; a guest only moves between hosts of its source's class. */
  cpuClass: Record<string, string>;
  limits: { perSource: number; perTarget: number; perCluster: number };
  /** Measured migration bandwidth and the guests' dirty rate (MiB/s), fixed cost per migration (s). */
  bandwidthMibS: number;
  dirtyRateMibS: number;
  /** Dirty rates measured per guest (MiB/s); a guest without one gets dirtyRateMibS. */
  dirtyRates?: Record<string, number>;
  setupS: number;
}

export interface Migration {
  vm: string;
  memory_mib: number;
  vcpus: number;
  from: string;
  to: string;
  /** 1-based wave: the migrations of one wave start together. */
  wave: number;
  start_s: number;
  expected_s: number;
  /** The dirty rate the estimate used, and whether it was measured on the guest. */
  dirty_rate_mib_s: number;
  dirty_measured: boolean;
  why: string;
}

export interface Plan {
  source: string;
  migrations: Migration[];
  waves: string[][];
  expected_s: number;
  /** Hypervisors left out as targets, and why. */
  left_out: Array<{ host: string; reason: string }>;
  /** Guests that fit nowhere: the drain must not start. */
  unplaceable: Array<{ vm: string; memory_mib: number; vcpus: number; reasons: string[] }>;
}

const mib = (kib: number) => Math.round(kib / 1024);

interface Target {
  host: string;
  freeMib: number;
  cpus: number;
  running: Set<string>;
  later: boolean;
}

/** The candidate targets, and the hypervisors left out with the reason. */
function candidates(inp: PlanInput): { targets: Target[]; leftOut: Plan['left_out'] } {
  const targets: Target[] = [];
  const leftOut: Plan['left_out'] = [];
  const srcClass = inp.cpuClass[inp.source];
  for (const [host, f] of Object.entries(inp.facts).sort(([a], [b]) => a.localeCompare(b))) {
    if (host === inp.source) continue;
    if ('unreachable' in f) leftOut.push({ host, reason: `unreachable: ${f.unreachable}` });
    else if (inp.exclude.includes(host)) leftOut.push({ host, reason: 'excluded' });
    else if ((inp.cpuClass[host] ?? srcClass) !== srcClass) leftOut.push({ host, reason: `CPU class ${inp.cpuClass[host] ?? '(none)'}, guests of ${inp.source} need ${srcClass}` });
    else targets.push({ host, freeMib: mib(f.free_memory_kib) - inp.reserveMib, cpus: f.cpus, running: new Set(f.active ?? f.running), later: inp.later?.includes(host) ?? false });
  }
  return { targets, leftOut };
}

/** Why `t` cannot take `d` (undefined: it can). */
function refusal(inp: PlanInput, t: Target, d: DomainFact, groupsOf: Map<string, string[]>): string | undefined {
  if (d.vcpus > t.cpus) return `${t.host} has ${t.cpus} CPUs, ${d.name} needs ${d.vcpus}`;
  if (mib(d.memory_kib) > t.freeMib) return `${t.host} has ${Math.max(0, t.freeMib)} MiB free after the ${inp.reserveMib} MiB reserve`;
  for (const g of groupsOf.get(d.name) ?? []) {
    const clash = inp.antiAffinity[g].find((other) => other !== d.name && t.running.has(other));
    if (clash) return `${t.host} already runs ${clash} (anti-affinity group ${g})`;
  }
  return undefined;
}

/** Places every running guest of the source; the biggest first, each on the target with the most memory left. */
export function place(inp: PlanInput): Omit<Plan, 'waves' | 'expected_s'> & { order: Array<{ d: DomainFact; to: string; why: string }> } {
  const src = inp.facts[inp.source];
  if (!src || 'unreachable' in src) throw new Error(`no virsh_domains facts for the source ${inp.source}`);
  const { targets, leftOut } = candidates(inp);
  const groupsOf = new Map<string, string[]>();
  for (const [g, vms] of Object.entries(inp.antiAffinity)) for (const vm of vms) groupsOf.set(vm, [...(groupsOf.get(vm) ?? []), g]);
  const active = src.active ?? src.running;
  const running = src.domains.filter((d) => src.running.includes(d.name));
  // A paused (or shutting-down, suspended) guest still lives here: the host would not be empty, and
  // virsh_migrate live-migrates only running guests, so the drain must not start.
  const stuck: Plan['unplaceable'] = src.domains
    .filter((d) => active.includes(d.name) && !src.running.includes(d.name))
    .map((d) => ({ vm: d.name, memory_mib: mib(d.memory_kib), vcpus: d.vcpus, reasons: [`it is ${d.state}, not running: only a running guest is live-migrated (resume it with 'virsh resume ${d.name}', or shut it down)`] }));
  // Pinned guests first (their target is not negotiable), then the biggest: a big guest placed
  // last finds only the crumbs the small ones left.
  running.sort((a, b) => Number(b.name in inp.pinned) - Number(a.name in inp.pinned) || b.memory_kib - a.memory_kib || a.name.localeCompare(b.name));
  const order: Array<{ d: DomainFact; to: string; why: string }> = [];
  const unplaceable: Plan['unplaceable'] = [...stuck];
  for (const d of running) {
    const pin = inp.pinned[d.name];
    const pool = pin ? targets.filter((t) => t.host === pin) : targets;
    const reasons: string[] = pin && pool.length === 0 ? [`pinned to ${pin}, which is not a candidate target`] : [];
    const fit = pool.filter((t) => {
      const why = refusal(inp, t, d, groupsOf);
      if (why) reasons.push(why);
      return !why;
    });
    if (fit.length === 0) {
      if (targets.length === 0 && !pin) reasons.push('no candidate target');
      unplaceable.push({ vm: d.name, memory_mib: mib(d.memory_kib), vcpus: d.vcpus, reasons });
      continue;
    }
    // a host still to be drained only when nothing else fits: the guest would move twice
    const settled = fit.filter((t) => !t.later);
    const best = (settled.length ? settled : fit).reduce((a, b) => (b.freeMib > a.freeMib ? b : a));
    const again = best.later ? `; ${best.host} is still to be drained: it moves again then` : '';
    order.push({ d, to: best.host, why: (pin ? `pinned to ${pin}` : `most memory left (${best.freeMib} MiB before, ${best.freeMib - mib(d.memory_kib)} MiB after)`) + again });
    best.freeMib -= mib(d.memory_kib);
    best.running.add(d.name);
  }
  return { source: inp.source, migrations: [], left_out: leftOut, unplaceable, order };
}

/** Seconds one migration should take: pre-copy rounds shrink by dirty/bandwidth each pass. */
export function expectedSeconds(memoryMib: number, inp: Pick<PlanInput, 'bandwidthMibS' | 'dirtyRateMibS' | 'setupS'>): number {
  const b = inp.bandwidthMibS;
  const d = Math.min(inp.dirtyRateMibS, memoryMib); // the dirty rate counts unique pages
  // Sum of the rounds M/B · (1 + r + r² …) = M/(B − D); when D ≥ 0.8·B pre-copy cannot converge
  // alone and the converge policy throttles the guest: count a doubled copy.
  const copy = d < 0.8 * b ? memoryMib / (b - d) : (2 * memoryMib) / b;
  return Math.round((inp.setupS + copy) * 10) / 10;
}

/**
 * The schedule the engine's keyed limits produce: in plan order, each migration starts as soon as
 * its source, its target and the cluster have room (a blocked one does not hold back the next).
 */
export function schedule(order: Array<{ d: DomainFact; to: string; why: string }>, inp: PlanInput): Pick<Plan, 'migrations' | 'waves' | 'expected_s'> {
  const pending = order.map((o) => {
    const measured = inp.dirtyRates?.[o.d.name];
    const dirty = measured ?? inp.dirtyRateMibS;
    return { ...o, dirty, measured: measured !== undefined, secs: expectedSeconds(mib(o.d.memory_kib), { ...inp, dirtyRateMibS: dirty }) };
  });
  const running: Array<{ to: string; end: number }> = [];
  const migrations: Migration[] = [];
  const waves: string[][] = [];
  let now = 0;
  while (pending.length > 0) {
    const wave: string[] = [];
    for (let i = 0; i < pending.length; ) {
      const p = pending[i];
      const intoTarget = running.filter((r) => r.to === p.to).length;
      if (running.length < Math.min(inp.limits.perSource, inp.limits.perCluster) && intoTarget < inp.limits.perTarget) {
        pending.splice(i, 1);
        running.push({ to: p.to, end: now + p.secs });
        wave.push(p.d.name);
        migrations.push({ vm: p.d.name, memory_mib: mib(p.d.memory_kib), vcpus: p.d.vcpus, from: inp.source, to: p.to, wave: waves.length + 1, start_s: round(now), expected_s: p.secs, dirty_rate_mib_s: p.dirty, dirty_measured: p.measured, why: p.why });
      } else i++;
    }
    if (wave.length) waves.push(wave);
    now = Math.min(...running.map((r) => r.end));
    for (let i = running.length - 1; i >= 0; i--) if (running[i].end <= now) running.splice(i, 1);
  }
  const end = migrations.reduce((m, x) => Math.max(m, x.start_s + x.expected_s), 0);
  return { migrations, waves, expected_s: round(end) };
}

const round = (s: number) => Math.round(s * 10) / 10;

export function plan(inp: PlanInput): Plan {
  const placed = place(inp);
  const { order, ...rest } = placed;
  return { ...rest, ...schedule(order, inp) };
}
