// `npm run bench -- --only evacuation`: evacuating 4 guests off hv1 of a 3-host libvirt lab with 1 and
// with 2 migrations at once out of the source (playbooks/evacuate-host.yml, parallel_per_source),
// recording the drain's wall time and each guest's downtime and total time as virsh_migrate measured.
import { rootPath } from '../engine/paths.js';
import { runPlaybook } from '../engine/runner/run.js';
import type { TaskEvent } from '../engine/results.js';
import { guestLocation, hostExec, labDown, labGuest, labUp, type LabInfo } from '../engine/lab/index.js';
import { shQuote } from '../engine/connection/quote.js';
import type { Row } from './report.js';

const LAB_NAME = `benchevac${process.env.PLAY_TEST_LAB_TAG ?? ''}`;
/** Third octet of the bench's lab addresses (PLAY_TEST_OCTET_SHIFT moves it, as for test labs). */
const OCTET = (41 + Number(process.env.PLAY_TEST_OCTET_SHIFT ?? 0)) % 256;
const GUESTS = ['b1', 'b2', 'b3', 'b4'];

interface VmRow {
  vm: string;
  to: string;
  result: string;
  total_s?: number;
  downtime_ms?: number;
  strategy?: string;
}

/** Removes the bench guests wherever they are, then starts them all on hv1. */
async function freshGuests(lab: LabInfo): Promise<void> {
  for (const g of GUESTS) {
    for (const h of await guestLocation(lab, g)) await hostExec(lab, h, `virsh -q destroy ${shQuote(g)}`);
    for (const h of lab.hosts) await hostExec(lab, h, `virsh -q undefine ${shQuote(g)} 2>/dev/null || true`);
  }
  await Promise.all(GUESTS.map((name) => labGuest(lab, { name, on: 'hv1', memoryMib: 256, dirtyRateMib: 16, workingSetMib: 64 })));
}

async function drain(lab: LabInfo, perSource: number): Promise<{ wallMs: number; rows: VmRow[]; failed: string[] }> {
  const events: TaskEvent[] = [];
  const t0 = performance.now();
  await runPlaybook({
    playbook: rootPath('playbooks', 'evacuate-host.yml'),
    inventories: [lab.inventoryPath],
    limit: 'hv1',
    check: false,
    diff: false,
    tags: [],
    skipTags: [],
    forks: 10,
    // targets never bind here: only the per-source cap differs between the two cases
    extraVars: { parallel_per_source: perSource, parallel_per_target: 4 },
    detailedExitcodes: false,
    command: 'run',
    observer: { hostTaskDone: (e) => events.push(e) },
  });
  const wallMs = performance.now() - t0;
  const report = events.find((e) => e.task === 'Evacuation report');
  const failed = events.filter((e) => e.result.status === 'failed').map((e) => `${e.task}: ${e.result.msg ?? ''}`.split('\n')[0]);
  return { wallMs, rows: ((report?.result.data as { vms?: VmRow[] } | undefined)?.vms ?? []), failed };
}

export async function evacuationSection(rows: Row[], runs: number): Promise<void> {
  let lab: LabInfo;
  try {
    await labDown(LAB_NAME);
    lab = await labUp({ name: LAB_NAME, hosts: 3, octet: OCTET, libvirt: true });
  } catch (e) {
    rows.push({ section: 'evacuation', case: `lab '${LAB_NAME}'`, note: `not available: lab up failed: ${(e as Error).message.split('\n')[0]}` });
    return;
  }
  try {
    // A fresh libvirtd probes QEMU on its first incoming migration (~4 s): warm every host first,
    // or the first case pays it and the comparison lies.
    await freshGuests(lab);
    await drain(lab, 2);
    for (const perSource of [1, 2]) {
      const kase = `evacuate 4 guests (256 MiB, 16 MiB/s dirty) off hv1, ${perSource} per source`;
      process.stderr.write(`bench: evacuation ${kase} …\n`);
      const walls: number[] = [];
      let last: VmRow[] = [];
      for (let i = 0; i < runs; i++) {
        await freshGuests(lab);
        const r = await drain(lab, perSource).catch((e: Error) => ({ wallMs: 0, rows: [], failed: [e.message.split('\n')[0]] }));
        if (r.failed.length) {
          rows.push({ section: 'evacuation', case: kase, note: `not available: the drain failed: ${r.failed.join('; ')}` });
          break;
        }
        walls.push(r.wallMs);
        last = r.rows;
      }
      if (walls.length === 0) continue;
      walls.sort((a, b) => a - b);
      const downtimes = last.map((v) => `${v.vm}→${v.to} ${v.total_s === undefined ? '?' : v.total_s.toFixed(1)} s, downtime ${v.downtime_ms ?? '?'} ms`);
      rows.push({ section: 'evacuation', case: kase, wallMs: walls[Math.floor(walls.length / 2)], runs: walls.length, note: downtimes.join('; '), extra: { vms: last } });
    }
  } finally {
    await labDown(LAB_NAME);
  }
}
