// Overlaps of recorded jobs (start and end times): how many ran at once.

export interface Job {
  task: string;
  host: string;
  item: string;
  start: number;
  end: number;
}

/** The most jobs running at one instant, among those `pick` selects. */
export function peak(jobs: Job[], pick: (j: Job) => boolean = () => true): number {
  const edges = jobs.filter(pick).flatMap((j) => [
    { t: j.start, d: 1 },
    { t: j.end, d: -1 },
  ]);
  // an end at the same instant as a start frees its slot first
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let max = 0;
  for (const e of edges) max = Math.max(max, (now += e.d));
  return max;
}
