// sysctl: kernel parameters, two facets checked separately — the running value (all keys in
// one round trip) and the persisted sysctl.d drop-in (only our keys edited, atomically, backup kept).
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { renderFile } from '../../engine/template.js';
import type { ApplyOutcome, Change, DiffResult, Module, ModuleContext } from '../../engine/module.js';
import type { ParamSchema } from '../../engine/schema.js';
import { ModuleError } from '../../engine/errors.js';
import { sh } from '../../engine/quote.js';
import { markedScript, parseMarked, type Section } from '../../engine/facts-parse.js';
import { controlCharProblem, lineBreakProblem } from '../file/line-checks.js';
import { KEY_RE, canonicalKey, editSysctlFile, normalizeValue, parseKeySection, parseSysctlFile, procPath, whyReadOnly, writeProblem, type KeyRead } from './parse.js';

export interface SysctlParams {
  settings: Record<string, unknown>;
  persist: boolean;
  file: string;
}

export interface SysctlState {
  host: string;
  /** Canonical key → what the host says about it. */
  keys: Record<string, KeyRead>;
  /** The drop-in's content (null: absent); undefined when persist is off. */
  file?: string | null;
}

const params: ParamSchema = {
  settings: {
    type: 'dict',
    required: true,
    description: 'Kernel parameters: key → value (multi-value keys as "4096 87380 16777216"; booleans become 1/0).',
    values: {
      type: 'raw',
      description: 'a string, number or boolean',
      check: (v) => (['string', 'number', 'boolean'].includes(typeof v) ? undefined : `expected a string, number or boolean, got ${JSON.stringify(v)}`),
    },
  },
  persist: { type: 'bool', default: true, description: 'Also keep the values in `file`, so they survive a reboot.' },
  file: { type: 'str', default: '/etc/sysctl.d/90-live-migration.conf', description: 'The sysctl.d drop-in to keep our keys in (other lines are kept).' },
};

/** Canonical key → normalised desired value. */
const desired = (p: SysctlParams): Array<[string, string]> => Object.entries(p.settings).map(([k, v]) => [canonicalKey(k), normalizeValue(v)]);

function keySection(i: number, key: string): Section {
  const p = procPath(key);
  return {
    name: `k${i}`,
    cmd: sh`if [ ! -e ${p} ]; then echo missing; else if [ -w ${p} ]; then echo w; else echo "ro $(stat -L -c %a ${p})"; fi; sysctl -n ${key}; fi`,
  };
}

async function read(ctx: ModuleContext, p: SysctlParams): Promise<SysctlState> {
  const keys = desired(p).map(([k]) => k);
  const sections = keys.map((k, i) => keySection(i, k));
  if (p.persist) sections.push({ name: 'file', cmd: sh`if [ -e ${p.file} ]; then echo present; cat -- ${p.file}; else echo absent; fi` });
  const r = await ctx.host.run(markedScript(sections));
  const s = parseMarked(r.stdout);
  const st: SysctlState = { host: ctx.hostName, keys: {} };
  keys.forEach((k, i) => {
    const sec = s[`k${i}`];
    if (!sec) throw new ModuleError(`could not read sysctl ${k} on ${ctx.hostName}: ${r.stderr.trim() || 'no output'}`);
    st.keys[k] = parseKeySection(sec.text, sec.rc);
  });
  if (p.persist) {
    const f = s.file;
    if (!f || f.rc !== 0) throw new ModuleError(`could not read ${p.file} on ${ctx.hostName}: ${f?.text.trim() || r.stderr.trim() || 'no output'}`);
    st.file = f.text.startsWith('present\n') ? f.text.slice('present\n'.length) : null;
  }
  return st;
}

function diff(st: SysctlState, p: SysctlParams): DiffResult {
  const changes: Change[] = [];
  const failures: string[] = [];
  const fileChanges: Change[] = [];
  const persisted = st.file === undefined || st.file === null ? {} : parseSysctlFile(st.file);
  const want = desired(p);
  for (const [key, value] of want) {
    const k = st.keys[key];
    if (!k || !k.exists) {
      failures.push(`${key} is not a sysctl key on ${st.host} (no ${procPath(key)})`);
      continue;
    }
    if (k.value === null) failures.push(`${key} cannot be read on ${st.host}: ${k.readError}`);
    else if (k.value !== value) {
      if (!k.writable) failures.push(`${key} cannot be set on ${st.host}: ${whyReadOnly(k)} — running value stays ${k.value}`);
      else changes.push({ path: `runtime ${key}`, from: k.value, to: value });
    }
    if (p.persist) {
      const cur = persisted[key];
      if (cur === undefined) fileChanges.push({ path: `file ${p.file} ${key}`, to: value, message: 'missing line' });
      else if (cur !== value) fileChanges.push({ path: `file ${p.file} ${key}`, from: cur, to: value });
    }
  }
  if (fileChanges.length) {
    // One unified diff of the whole file, carried by the first file change.
    const before = st.file ?? '';
    fileChanges[0] = { ...fileChanges[0], before, after: editSysctlFile(st.file ?? newDropIn(want), Object.fromEntries(want)) };
  }
  return { changes: [...changes, ...fileChanges], failures };
}

const DROP_IN_TEMPLATE = rootPath('templates', 'sysctl-live-migration.conf.hbs');
let dropInText: string | undefined;

/** A drop-in that does not exist yet is rendered from templates/ (later runs edit it in place). */
function newDropIn(want: Iterable<[string, string]>): string {
  dropInText ??= readFileSync(DROP_IN_TEMPLATE, 'utf8');
  return renderFile(dropInText, { settings: Object.fromEntries(want) }, { file: DROP_IN_TEMPLATE });
}

async function apply(ctx: ModuleContext, p: SysctlParams, changes: Change[], st: SysctlState): Promise<ApplyOutcome> {
  const runtime = changes.filter((c) => c.path.startsWith('runtime '));
  if (runtime.length) {
    // Write and read back in one round trip: inside a namespace `sysctl -w` may exit 0 and change nothing.
    const sections: Section[] = runtime.map((c, i) => {
      const key = c.path.slice('runtime '.length);
      return { name: `w${i}`, cmd: sh`sysctl -q -w ${`${key}=${String(c.to)}`}; sysctl -n ${key}` };
    });
    const r = await ctx.host.run(markedScript(sections));
    const s = parseMarked(r.stdout);
    const errors: string[] = [];
    runtime.forEach((c, i) => {
      const problem = writeProblem(c.path.slice('runtime '.length), String(c.to), s[`w${i}`]?.text ?? '', ctx.hostName);
      if (problem) errors.push(problem);
    });
    if (errors.length) throw new ModuleError(errors.join('\n'));
    ctx.log(`${ctx.hostName}: set ${runtime.map((c) => c.path.slice('runtime '.length)).join(', ')}`);
  }
  const backups: string[] = [];
  if (changes.some((c) => c.path.startsWith('file '))) {
    const content = editSysctlFile(st.file ?? newDropIn(desired(p)), Object.fromEntries(desired(p)));
    const w = await ctx.host.writeFile(p.file, content, { backup: true });
    if (w.backupPath) backups.push(w.backupPath);
  }
  return { backups };
}

export const sysctl: Module<SysctlParams, SysctlState> = {
  name: 'sysctl',
  kind: 'state',
  summary: 'Kernel parameters: the running value and the persisted sysctl.d drop-in, each checked',
  description: [
    'Two facets per key, both checked and reported separately: the running value (`sysctl -n`, all keys',
    'in one round trip) and the line in `file` (default /etc/sysctl.d/90-live-migration.conf).',
    'Values are compared normalised (whitespace in multi-value keys, booleans as 1/0), so nothing flaps.',
    'An unknown key, a read-only key, or one that cannot be written here (inside a network namespace',
    '`net.core.rmem_max` is read-only) is a clear error naming the key, found by read (so check mode sees it)',
    'and, after `sysctl -w`, by reading the value back. The file is written atomically with a backup, and',
    'only our keys are edited. A value with a line break is refused (it would add lines to the file).',
  ].join('\n'),
  params,
  examples: [
    "sysctl:\n  settings:\n    net.ipv4.tcp_rmem: 4096 87380 16777216\n    net.ipv4.tcp_wmem: 4096 65536 16777216\n    net.ipv4.tcp_mtu_probing: 1",
    'sysctl:\n  settings: { vm.swappiness: 10 }\n  persist: false',
  ],
  validate(p) {
    const out: string[] = [];
    for (const k of Object.keys(p.settings ?? {})) {
      if (!KEY_RE.test(k) || k.includes('..')) out.push(`sysctl.settings: '${k}' is not a sysctl key name`);
      else {
        const lb = controlCharProblem(`sysctl.settings.${k}`, p.settings[k]);
        if (lb) out.push(lb);
      }
    }
    const fileLb = lineBreakProblem('sysctl.file', p.file);
    if (fileLb) out.push(fileLb);
    if (p.persist && !p.file.startsWith('/')) out.push(`sysctl.file: '${p.file}' must be an absolute path`);
    if (Object.keys(p.settings ?? {}).length === 0) out.push('sysctl.settings: give at least one key');
    return out;
  },
  read,
  diff,
  apply,
  result: (st) => ({ values: Object.fromEntries(Object.entries(st.keys).map(([k, v]) => [k, v.value])) }),
};
