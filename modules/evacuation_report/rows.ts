// Pure: one row per guest of a drain, from the plan and the registered migration loops.

export interface PlanData {
  failed?: boolean;
  msg?: string;
  migrations?: Array<{ vm: string; from: string; to: string; memory_mib?: number }>;
  unplaceable?: Array<{ vm: string; memory_mib: number; reasons: string[] }>;
}

export interface VmRow {
  vm: string;
  from: string;
  to: string;
  /** moved · moved and returned · failed · not started · would move · fits nowhere · not moved (plan failed) · return failed */
  result: string;
  /** Where the guest runs now, as far as the results tell. */
  location: string;
  total_s?: number;
  downtime_ms?: number;
  strategy?: string;
  /** When the migration away really ran (after waiting for its limits), from the loop's record. */
  started_at?: string;
  ended_at?: string;
  msg?: string;
}

type ItemResult = Record<string, unknown> & { item?: { vm?: string } };

/** A loop register's results by the guest each item moved. */
function byVm(reg: unknown): Map<string, ItemResult> {
  const out = new Map<string, ItemResult>();
  const results = (reg as { results?: unknown } | undefined)?.results;
  if (Array.isArray(results)) for (const r of results as ItemResult[]) if (r?.item?.vm) out.set(r.item.vm, r);
  return out;
}

const num = (v: unknown) => (typeof v === 'number' ? v : undefined);

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

function figures(r: ItemResult): Pick<VmRow, 'total_s' | 'downtime_ms' | 'strategy' | 'started_at' | 'ended_at'> {
  return { total_s: num(r.total_s), downtime_ms: num(r.downtime_ms), strategy: str(r.strategy), started_at: str(r.started_at), ended_at: str(r.ended_at) };
}

/** The row of one planned migration, from its result away and its result back. */
function rowOf(m: { vm: string; from: string; to: string }, away: ItemResult | undefined, back: ItemResult | undefined, planFailed: boolean, check: boolean): VmRow {
  const base = { vm: m.vm, from: m.from, to: m.to };
  if (!away) return { ...base, result: planFailed ? 'not moved (plan failed)' : 'not started', location: m.from };
  if (away.failed) return { ...base, result: 'failed', location: m.from, msg: String(away.msg ?? ''), ...figures(away) };
  // a check moves nothing: a pending migration is reported as what it would do
  if (check && away.changed) return { ...base, result: 'would move', location: m.from };
  if (away.preview) return { ...base, result: 'would move', location: m.from };
  if (away.skipped) return { ...base, result: 'not started', location: m.from, msg: typeof away.msg === 'string' ? away.msg : undefined };
  const moved = { ...base, result: 'moved', location: m.to, ...figures(away) };
  if (!back || back.skipped) return moved;
  if (back.failed) return { ...moved, result: 'return failed', msg: String(back.msg ?? '') };
  return { ...moved, result: 'moved and returned', location: m.from };
}

export function vmRows(source: string, plan: PlanData | undefined, moved: unknown, returned: unknown, check = false): VmRow[] {
  const away = byVm(moved);
  const back = byVm(returned);
  const rows = (plan?.migrations ?? []).map((m) => rowOf(m, away.get(m.vm), back.get(m.vm), plan?.failed === true, check));
  for (const u of plan?.unplaceable ?? []) {
    rows.push({ vm: u.vm, from: source, to: '-', result: 'fits nowhere', location: source, msg: `${u.memory_mib} MiB: ${u.reasons.join('; ')}` });
  }
  return rows;
}

export function reportLines(source: string, rows: VmRow[]): string[] {
  if (rows.length === 0) return [`${source}: no guests to account for`];
  const w = Math.max(...rows.map((r) => r.vm.length));
  const lines = [`evacuation report for ${source}:`];
  for (const r of rows) {
    const figs = [r.total_s !== undefined ? `${Number(r.total_s.toFixed(2))} s` : '', r.downtime_ms !== undefined ? `downtime ${r.downtime_ms} ms` : '', r.strategy ?? ''].filter(Boolean).join(', ');
    lines.push(`  ${r.vm.padEnd(w)}  ${r.from} → ${r.to}  ${r.result}, on ${r.location}${figs ? ` (${figs})` : ''}${r.msg ? `: ${r.msg.split('\n')[0]}` : ''}`);
  }
  return lines;
}
