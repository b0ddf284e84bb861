// Pure helpers for sysctl: key spelling, value normalisation, the per-key read section,
// and reading/editing a sysctl.d drop-in while keeping every line that is not ours.

/** A key as the user or a file may write it: dots, or slashes (sysctl.d(5) rules). */
export const KEY_RE = /^[A-Za-z0-9_][A-Za-z0-9_.\/:@+-]*$/;

/**
 * The dotted form of a key. sysctl.d(5): when the first separator is a slash, slashes and dots
 * swap roles, so `net/ipv4/conf/eth1.100/rp_filter` is `net.ipv4.conf.eth1/100.rp_filter`.
 */
export function canonicalKey(key: string): string {
  const k = key.trim();
  const first = /[./]/.exec(k);
  if (!first || first[0] === '.') return k;
  return k.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

/** /proc/sys path of a dotted key (a slash inside a component is a literal dot). */
export function procPath(key: string): string {
  return '/proc/sys/' + canonicalKey(key).replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

/** Compared form of a value: whitespace runs → one space, booleans → 1/0. */
export function normalizeValue(v: unknown): string {
  if (typeof v === 'boolean') return v ? '1' : '0';
  const s = String(v).trim();
  if (/^(true|yes|on)$/i.test(s)) return '1';
  if (/^(false|no|off)$/i.test(s)) return '0';
  return s.split(/\s+/).join(' ');
}

/** What the read script learns about one key. */
export interface KeyRead {
  exists: boolean;
  /** Writable by the user the task runs as. */
  writable: boolean;
  /** Octal mode of the /proc/sys file ('444' = read-only for everyone). */
  mode?: string;
  /** Normalised running value; null when it could not be read. */
  value: string | null;
  readError?: string;
}

/**
 * The section text of one key: a first line `missing`, `w` or `ro MODE`, then `sysctl -n` output
 * (or its error).
 */
export function parseKeySection(text: string, rc: number): KeyRead {
  const nl = text.indexOf('\n');
  const head = (nl < 0 ? text : text.slice(0, nl)).trim();
  const rest = nl < 0 ? '' : text.slice(nl + 1);
  if (head === 'missing') return { exists: false, writable: false, value: null };
  const ro = /^ro (\d+)$/.exec(head);
  const base: KeyRead = { exists: true, writable: head === 'w', value: null };
  if (ro) base.mode = ro[1];
  if (rc !== 0) return { ...base, readError: rest.trim().replace(/^sysctl:\s*/, '') || `exit ${rc}` };
  return { ...base, value: normalizeValue(rest) };
}

/** A key that cannot be written: why, in words. */
export function whyReadOnly(k: KeyRead): string {
  if (k.mode && /[2367]/.test(k.mode)) return 'not writable by this user (become: true?)';
  return 'read-only in this context (network namespace?)';
}

interface FileLine {
  key: string;
  value: string;
  /** Text up to and including '=' (kept when the value is edited). */
  head: string;
}

function assignment(line: string): FileLine | null {
  const t = line.trim();
  if (!t || t.startsWith('#') || t.startsWith(';')) return null;
  const eq = t.indexOf('=');
  if (eq < 0) return null;
  const key = canonicalKey(t.slice(0, eq).trim().replace(/^-/, ''));
  if (!key) return null;
  return { key, value: normalizeValue(t.slice(eq + 1)), head: line.slice(0, line.indexOf('=') + 1) };
}

/** Values a sysctl.d file sets (the last line of a key wins, as when systemd-sysctl loads it). */
export function parseSysctlFile(content: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of content.split('\n')) {
    const a = assignment(line);
    if (a) out[a.key] = a.value;
  }
  return out;
}

export const FILE_HEADER = '# Managed by play (sysctl module): live-migration tuning. Other lines are kept.\n';

/**
 * The file with our keys set: lines of our keys get the new value (all of them, so a later
 * duplicate cannot undo it), missing keys are appended, everything else is kept as it was.
 */
export function editSysctlFile(content: string | null, settings: Record<string, string>): string {
  const want = new Map(Object.entries(settings).map(([k, v]) => [canonicalKey(k), v]));
  const seen = new Set<string>();
  const lines = (content ?? FILE_HEADER).split('\n');
  const out = lines.map((line) => {
    const a = assignment(line);
    if (!a || !want.has(a.key)) return line;
    seen.add(a.key);
    return a.value === want.get(a.key) ? line : `${a.head.trimEnd()} ${want.get(a.key)}`;
  });
  let text = out.join('\n');
  const missing = [...want].filter(([k]) => !seen.has(k));
  if (missing.length) {
    if (text !== '' && !text.endsWith('\n')) text += '\n';
    text += missing.map(([k, v]) => `${k} = ${v}\n`).join('');
  }
  return text;
}

/**
 * Judges one `sysctl -q -w KEY=VALUE; sysctl -n KEY` section: null when the value stuck, else
 * the sentence to report (sysctl may exit 0 with "Invalid argument" and leave the value as it was).
 */
export function writeProblem(key: string, to: string, text: string, host: string): string | null {
  const lines = text.split('\n').filter((l) => l.trim());
  const complaints = lines.filter((l) => l.startsWith('sysctl:')).map((l) => l.replace(/^sysctl:\s*(setting key "[^"]*":\s*)?/, ''));
  const now = normalizeValue(lines.filter((l) => !l.startsWith('sysctl:')).join(' '));
  if (now === to) return null;
  const why = complaints.length ? complaints.join('; ') : 'the kernel kept the old value';
  return `${key} cannot be set to '${to}' on ${host}: ${why}${now ? ` — running value stays ${now}` : ''}`;
}
