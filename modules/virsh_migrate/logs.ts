// The logs that explain a failed migration, from both hosts in one round trip each: the daemon
// log, the guest's QEMU log and the kernel's (link flaps, RX overruns).
import type { Host } from '../../engine/connection/host.js';
import { shQuote } from '../../engine/connection/quote.js';
import type { LogSource } from './diagnose.js';

const LOGS = (domain: string): Array<[name: string, cmd: string]> => [
  ['libvirtd log', 'tail -n 60 /var/log/libvirt/libvirtd.log'],
  [`qemu/${domain}.log`, `tail -n 30 ${shQuote(`/var/log/libvirt/qemu/${domain}.log`)}`],
  ['dmesg', 'dmesg 2>/dev/null | tail -n 20'],
];

/**
 * Log lines stamped before `since` (an earlier migration's errors) are dropped. An unstamped line
 * (QEMU's own stderr in the domain log) belongs to the stamped entry above it and goes with it;
 * lines before any stamp (dmesg) are kept.
 */
export function linesSince(text: string, since: Date): string {
  let keep = true;
  return text
    .split('\n')
    .filter((l) => {
      const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d{4})?/.exec(l);
      if (!m) return keep;
      const zone = !m[3] || m[3] === 'Z' || m[3] === '+0000' ? 'Z' : `${m[3].slice(0, 3)}:${m[3].slice(3)}`;
      const t = Date.parse(`${m[1]}T${m[2].slice(0, 12)}${zone}`);
      keep = !(t < since.getTime() - 1000);
      return keep;
    })
    .join('\n');
}

async function hostLogs(h: Host, name: string, domain: string, since: Date): Promise<LogSource[]> {
  const logs = LOGS(domain);
  const r = await h.run(logs.map(([n, cmd], i) => `echo "@@log ${i}"; ${cmd} 2>/dev/null`).join('\n'));
  const out: LogSource[] = [];
  let cur: LogSource | undefined;
  for (const line of r.stdout.split('\n')) {
    const m = /^@@log (\d+)$/.exec(line);
    if (m) out.push((cur = { name: `${name} ${logs[Number(m[1])][0]}`, text: '' }));
    else if (cur) cur.text += `${line}\n`;
  }
  return out.map((l) => ({ ...l, text: linesSince(l.text, since) }));
}

/** Source first: its daemon drives a p2p migration and logs the cause (a TLS mismatch). */
export async function collectLogs(plan: { src: Host; dst: Host; srcName: string; dstName: string }, domain: string, since: Date): Promise<LogSource[]> {
  const [a, b] = await Promise.all([hostLogs(plan.src, plan.srcName, domain, since).catch(() => []), hostLogs(plan.dst, plan.dstName, domain, since).catch(() => [])]);
  return [...a, ...b];
}
