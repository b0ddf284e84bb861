// `play check` output: nothing while reading, then per host only what is not in sync, grouped
// by task (drift as `setting: actual → desired`, errors, unreachable), in inventory order.
import type { RunObserver } from '../runner/events.js';
import type { TaskEvent } from '../results.js';
import type { RendererOptions } from './plain.js';
import { detailLines, unifiedDiffs } from './format.js';

export function driftRenderer(o: RendererOptions): RunObserver {
  const c = o.chalk;
  const order: string[] = [];
  const events = new Map<string, TaskEvent[]>();
  const unreachable = new Map<string, string>();
  const seen = new Set<string>();
  return {
    playStart(play, hosts) {
      o.write(c.bold(`CHECK [${play.name}] ${hosts.length} host${hosts.length === 1 ? '' : 's'} (read only)`));
      for (const h of hosts) if (!seen.has(h)) (seen.add(h), order.push(h));
    },
    hostTaskDone(ev) {
      const r = ev.result;
      if (r.status === 'unreachable') {
        unreachable.set(ev.host, r.msg ?? 'unreachable');
        return;
      }
      const notable = r.status === 'changed' || (r.status === 'failed' && !r.ignored);
      if (!notable && !o.verbose) return;
      if (!events.has(ev.host)) events.set(ev.host, []);
      events.get(ev.host)!.push(ev);
    },
    warning(m) {
      o.write(c.magenta(`[WARNING] ${m}`));
    },
    verbose(line) {
      if (o.verbose) o.write(c.gray(line));
    },
    finish() {
      for (const host of order) {
        const why = unreachable.get(host);
        const evs = events.get(host) ?? [];
        if (why !== undefined) {
          o.write(c.magenta(`${host}: unreachable — ${why}`));
          continue;
        }
        if (evs.length === 0) continue;
        const failed = evs.some((e) => e.result.status === 'failed');
        const drifted = evs.some((e) => e.result.status === 'changed');
        const label = failed && drifted ? 'drift and errors' : failed ? 'error' : drifted ? 'drift' : 'in sync';
        o.write((failed ? c.red : drifted ? c.yellow : c.green)(`${host}: ${label}`));
        for (const e of evs) {
          const r = e.result;
          const tag = r.status === 'failed' ? c.red(' (error)') : r.status === 'changed' ? '' : c.gray(` (${r.status})`);
          o.write(`  ${e.task}${tag}`);
          for (const l of detailLines(r, o.verbose)) o.write(`    ${l}`);
          if (o.diff) for (const d of unifiedDiffs(r)) for (const l of d.split('\n')) o.write(`    ${l}`);
        }
      }
    },
  };
}
