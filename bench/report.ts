// Result rows, the markdown table, and the targets the issue sets, checked against the numbers.

export interface Row {
  section: string;
  case: string;
  /** Medians; undefined when the case did not run. */
  wallMs?: number;
  cpuMs?: number;
  peakRssKb?: number;
  runs?: number;
  /** Why the case did not run (`not available: …`), or extra facts (exit codes, unknown commands). */
  note?: string;
  extra?: Record<string, unknown>;
}

export interface Target {
  goal: string;
  value?: number;
  unit: string;
  limit: number;
  /** 'max': value must be ≤ limit; 'min': ≥ limit. */
  kind: 'max' | 'min';
  met?: boolean;
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits));

export function markdownTable(rows: Row[]): string {
  const out = ['| section | case | wall ms | cpu ms | peak RSS MiB | runs | note |', '|---|---|---:|---:|---:|---:|---|'];
  for (const r of rows) {
    out.push(`| ${r.section} | ${r.case} | ${fmt(r.wallMs)} | ${fmt(r.cpuMs)} | ${fmt(r.peakRssKb === undefined ? undefined : r.peakRssKb / 1024, 1)} | ${r.runs ?? '–'} | ${(r.note ?? '').replace(/\|/g, '\\|').replace(/\n/g, ' ')} |`);
  }
  return out.join('\n');
}

export function checkTarget(t: Target): Target {
  return { ...t, met: t.value === undefined || Number.isNaN(t.value) ? undefined : t.kind === 'max' ? t.value <= t.limit : t.value >= t.limit };
}

export function targetsTable(ts: Target[]): string {
  const out = ['| target | value | limit | met |', '|---|---:|---:|---|'];
  for (const t of ts) out.push(`| ${t.goal} | ${fmt(t.value, 2)} ${t.unit} | ${t.kind === 'max' ? '≤' : '≥'} ${t.limit} ${t.unit} | ${t.met === undefined ? 'not measured' : t.met ? 'yes' : 'NO'} |`);
  return out.join('\n');
}

/** Least-squares slope and how straight the line is (R²): memory growth per host. */
export function linearFit(xs: number[], ys: number[]): { slope: number; intercept: number; r2: number } {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
    syy += (ys[i] - my) ** 2;
  }
  const slope = sxx === 0 ? NaN : sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: sxx === 0 || syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
