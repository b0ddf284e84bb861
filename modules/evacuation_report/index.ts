// evacuation_report: every guest of a drain accounted for — from, to, result, total time, downtime,
// strategy — from the plan and the registered virsh_migrate loops. Runs inside the engine only.
import type { Module } from '../../engine/module/contract.js';
import { vmRows, reportLines, type PlanData } from './rows.js';
import { observe } from './observed.js';
import { factsByHost } from '../evacuation_plan/index.js';

export interface EvacuationReportParams {
  plan?: unknown;
  moved?: unknown;
  returned?: unknown;
  facts?: unknown;
  source?: string;
}

export const evacuationReportModule: Module<EvacuationReportParams> = {
  name: 'evacuation_report',
  kind: 'control',
  summary: 'Account for every guest of a host evacuation: moved, failed (still on its source), not started, returned.',
  description:
    'Reads the evacuation_plan register and the registered virsh_migrate loops (away, and back with return_vms). ' +
    'A guest whose migration failed is reported on its source (virsh_migrate leaves it there); a guest whose ' +
    'migration never started (the loop stopped at a failure, or the plan failed) is reported not moved. ' +
    'Register data: vms [{vm, from, to, result, location, total_s, downtime_ms, strategy, returned}], moved, not_moved. ' +
    'Never fails: the failure that stopped the drain fails its own task.',
  params: {
    plan: { type: 'raw', description: 'The evacuation_plan register (its migrations).' },
    moved: { type: 'raw', description: 'The register of the virsh_migrate loop that moved the guests away.' },
    returned: { type: 'raw', description: 'The register of the loop that moved them back (return_vms).' },
    facts: { type: 'raw', description: 'virsh_domains of every hypervisor read after the drain: each location is then observed, and a guest running on no host or on two fails the task.' },
    source: { type: 'str', description: 'The drained host (default: the task host).' },
  },
  examples: ['- evacuation_report:\n    plan: "{{default plan null}}"\n    moved: "{{default moved null}}"\n    returned: "{{default returned null}}"\n    facts: "{{hv_after.results}}"'],
  async control(ctx, p) {
    const source = p.source ?? ctx.hostName;
    let rows = vmRows(source, (p.plan ?? undefined) as PlanData | undefined, p.moved, p.returned, ctx.vars.ansible_check_mode === true);
    let problems: string[] = [];
    const facts = p.facts === undefined || p.facts === null ? undefined : factsByHost(p.facts);
    if (typeof facts === 'string') return { failed: true, msg: facts };
    if (facts) ({ rows, problems } = observe(rows, facts));
    const moved = rows.filter((r) => r.result === 'moved' || r.result === 'moved and returned').length;
    const lines = reportLines(source, rows);
    if (problems.length) lines.push(...problems.map((m) => `LOST OR DOUBLE: ${m}`));
    return {
      failed: problems.length > 0,
      msg: lines.join('\n'),
      data: { host: source, vms: rows, moved, not_moved: rows.length - moved, observed: facts !== undefined, problems },
    };
  },
};
