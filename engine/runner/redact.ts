// Secrets (become passwords, parameters marked secret) never reach output or reports.
import type { Change } from '../module/contract.js';
import type { TaskResult } from '../results.js';

export const MASK = '********';

export function redactText(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 3) out = out.split(s).join(MASK);
  return out;
}

function redactValue(v: unknown, secrets: string[]): unknown {
  if (typeof v === 'string') return redactText(v, secrets);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, secrets));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redactValue(x, secrets)]));
  return v;
}

export function redactResult(r: TaskResult, secrets: string[]): TaskResult {
  if (secrets.length === 0) return r;
  const change = (c: Change): Change => ({
    ...c,
    from: redactValue(c.from, secrets),
    to: redactValue(c.to, secrets),
    message: c.message === undefined ? undefined : redactText(c.message, secrets),
    before: c.before === undefined ? undefined : redactText(c.before, secrets),
    after: c.after === undefined ? undefined : redactText(c.after, secrets),
  });
  return {
    ...r,
    msg: r.msg === undefined ? undefined : redactText(r.msg, secrets),
    changes: r.changes.map(change),
    warnings: r.warnings.map((w) => redactText(w, secrets)),
    diffs: r.diffs?.map((d) => ({ path: d.path, before: redactText(d.before, secrets), after: redactText(d.after, secrets) })),
    data: r.data ? (redactValue(r.data, secrets) as Record<string, unknown>) : undefined,
  };
}
