// `play lab link --rate MBIT`: a token bucket on every host's eth1 egress, to model a 1 GbE or
// slower migration link (tbf is egress only: each host shapes what it sends). netem is not
// available in this kernel, so delay cannot be added.
import { PlayError } from '../errors.js';
import { runLocal, runLocalOk } from './exec.js';
import type { LabInfo } from './types.js';

/** tbf arguments for a rate in Mbit/s: burst ~ 1 ms of traffic (at least 64 kB), 400 ms queue. */
export function tbfArgs(rateMbit: number): string[] {
  if (!Number.isFinite(rateMbit) || rateMbit <= 0 || rateMbit > 100_000) throw new PlayError(`invalid link rate ${rateMbit}: use 1-100000 (Mbit/s) or none`);
  const burstKb = Math.max(64, Math.ceil((rateMbit * 1000) / 8 / 1000));
  return ['rate', `${rateMbit}mbit`, 'burst', `${burstKb}kb`, 'latency', '400ms'];
}

/** rateMbit null: remove the limit. */
export async function labLink(lab: LabInfo, opts: { rateMbit: number | null }): Promise<void> {
  const args = opts.rateMbit === null ? null : tbfArgs(opts.rateMbit);
  for (const h of lab.hosts) {
    if (args) await runLocalOk('tc', ['-n', h.ns, 'qdisc', 'replace', 'dev', 'eth1', 'root', 'tbf', ...args]);
    else {
      const r = await runLocal('tc', ['-n', h.ns, 'qdisc', 'del', 'dev', 'eth1', 'root']);
      // No root qdisc to delete is what "none" wants.
      if (r.code !== 0 && !/No such file|Cannot delete qdisc with handle of zero/i.test(r.stderr)) throw new PlayError(`lab: tc on ${h.name} failed: ${r.stderr.trim()}`);
    }
  }
}
