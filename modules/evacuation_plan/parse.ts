// Pure parser of `virsh -q domstats --dirtyrate` after `domdirtyrate-calc`: each guest's measured
// dirty rate (MiB/s). A guest still measuring (calc_status 1) or never measured has none.

export function parseDirtyRates(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  let dom: string | undefined;
  let done = false;
  for (const line of text.split('\n')) {
    const head = /^Domain: '(.*)'$/.exec(line.trim());
    if (head) {
      dom = head[1];
      done = false;
      continue;
    }
    const kv = /^\s*dirtyrate\.([a-z_]+)=(\S+)$/.exec(line);
    if (!dom || !kv) continue;
    // calc_status 2: the measurement finished; only then is megabytes_per_second its result
    if (kv[1] === 'calc_status') done = kv[2] === '2';
    if (kv[1] === 'megabytes_per_second' && done && /^\d+$/.test(kv[2])) out[dom] = Number(kv[2]);
  }
  return out;
}
