// sysctl: kernel parameters, two facets checked separately — the running value (all keys in
// one round trip) and the persisted sysctl.d drop-in (only our keys edited, atomically, backup kept).
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { renderFile } from '../../engine/lang/template.js';
import { paramProblem, type ParamProblem, type ApplyStep, type ApplySteps, type Change, type DiffResult, type Module, type ProbeHost } from '../../engine/module/contract.js';
import type { ParamSchema } from '../../engine/module/schema.js';
import { ModuleError } from '../../engine/errors.js';
import { sh } from '../../engine/connection/quote.js';
import { markedScript, parseMarked, type Probe, type Section } from '../../engine/connection/sections.js';
import { controlCharProblem, lineBreakProblem } from '../lib/files/line-checks.js';
import { minimumNote, satisfies, settingOf, settingProblem, target, type Setting } from './compare.js';
import { KEY_RE, canonicalKey, editSysctlFile, parseKeySection, parseSysctlFile, procPath, whyReadOnly, writeProblem, type KeyRead } from './parse.js';

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
    description:
      'Kernel parameters: key → value (multi-value keys as "4096 87380 16777216"; booleans become 1/0), compared exactly; ' +
      'or key → { value, compare: minimum } for sizes: each field at least the value, a bigger one on the host kept.',
    values: {
      type: 'raw',
      description: 'a string, number or boolean; or { value, compare: exact | minimum }',
      check: settingProblem,
    },
  },
  persist: { type: 'bool', default: true, description: 'Also keep the values in `file`, so they survive a reboot.' },
  file: { type: 'str', default: '/etc/sysctl.d/90-live-migration.conf', description: 'The sysctl.d drop-in to keep our keys in (other lines are kept).' },
};

/** What a change is about: the running value of a key, or its line in the drop-in. */
export type SysctlTarget = { facet: 'runtime'; key: string } | { facet: 'file'; file: string; key: string };

/** `runtime net.core.rmem_max`, `file /etc/sysctl.d/x.conf net.core.rmem_max` */
const pathOf = (t: SysctlTarget): string => (t.facet === 'runtime' ? `runtime ${t.key}` : `file ${t.file} ${t.key}`);

/** Canonical key → the wanted value and how the host's value is compared with it. */
const desired = (p: SysctlParams): Array<[string, Setting]> => Object.entries(p.settings).map(([k, v]) => [canonicalKey(k), settingOf(v)]);

/**
 * Each key's value for the drop-in: kept when the file already satisfies the setting, else what
 * the running value will be (a minimum never persists less than the host runs now).
 */
function fileValues(st: SysctlState, want: Array<[string, Setting]>): Record<string, string> {
  const persisted = st.file === undefined || st.file === null ? {} : parseSysctlFile(st.file);
  const out: Record<string, string> = {};
  for (const [key, s] of want) {
    const cur = persisted[key];
    out[key] = cur !== undefined && satisfies(cur, s) ? cur : target(st.keys[key]?.value, s);
  }
  return out;
}

function keySection(i: number, key: string): Section {
  const p = procPath(key);
  return {
    name: `k${i}`,
    cmd: sh`if [ ! -e ${p} ]; then echo missing; else if [ -w ${p} ]; then echo w; else echo "ro $(stat -L -c %a ${p})"; fi; sysctl -n ${key}; fi`,
  };
}

/** The keys and, when persisted, the file, in one script; the parser is pure. */
function probe(p: SysctlParams, h: ProbeHost): Probe<SysctlState> {
  const keys = desired(p).map(([k]) => k);
  const sections = keys.map((k, i) => keySection(i, k));
  if (p.persist) sections.push({ name: 'file', cmd: sh`if [ -e ${p.file} ]; then echo present; cat -- ${p.file}; else echo absent; fi` });
  return {
    script: markedScript(sections),
    parse(r) {
      const s = parseMarked(r.stdout);
      const st: SysctlState = { host: h.hostName, keys: {} };
      keys.forEach((k, i) => {
        const sec = s[`k${i}`];
        if (!sec) throw new ModuleError(`could not read sysctl ${k} on ${h.hostName}: ${r.stderr.trim() || 'no output'}`);
        st.keys[k] = parseKeySection(sec.text, sec.rc);
      });
      if (p.persist) {
        const f = s.file;
        if (!f || f.rc !== 0) throw new ModuleError(`could not read ${p.file} on ${h.hostName}: ${f?.text.trim() || r.stderr.trim() || 'no output'}`);
        st.file = f.text.startsWith('present\n') ? f.text.slice('present\n'.length) : null;
      }
      return st;
    },
  };
}

function diff(st: SysctlState, p: SysctlParams): DiffResult<SysctlTarget> {
  const changes: Change<SysctlTarget>[] = [];
  const failures: string[] = [];
  const fileChanges: Change<SysctlTarget>[] = [];
  const persisted = st.file === undefined || st.file === null ? {} : parseSysctlFile(st.file);
  const want = desired(p);
  const inFile = fileValues(st, want);
  for (const [key, s] of want) {
    const k = st.keys[key];
    if (!k || !k.exists) {
      failures.push(`${key} is not a sysctl key on ${st.host} (no ${procPath(key)})`);
      continue;
    }
    if (k.value === null) failures.push(`${key} cannot be read on ${st.host}: ${k.readError}`);
    else if (!satisfies(k.value, s)) {
      if (!k.writable) failures.push(`${key} cannot be set on ${st.host}: ${whyReadOnly(k)} — running value stays ${k.value}`);
      else changes.push(valueChange({ facet: 'runtime', key }, k.value, target(k.value, s), s));
    }
    if (p.persist) {
      const cur = persisted[key];
      const line: SysctlTarget = { facet: 'file', file: p.file, key };
      if (cur === undefined) fileChanges.push({ path: pathOf(line), target: line, to: inFile[key], message: 'missing line' });
      else if (!satisfies(cur, s)) fileChanges.push(valueChange(line, cur, inFile[key], s));
    }
  }
  if (fileChanges.length) {
    // One unified diff of the whole file, carried by the first file change.
    const before = st.file ?? '';
    fileChanges[0] = { ...fileChanges[0], before, after: editSysctlFile(st.file ?? newDropIn(inFile), inFile) };
  }
  return { changes: [...changes, ...fileChanges], failures };
}

/** `from → to`, with the minimum's wording when the setting is one. */
function valueChange(t: SysctlTarget, from: string, to: string, s: Setting): Change<SysctlTarget> {
  const note = minimumNote(s, to);
  const path = pathOf(t);
  return note ? { path, target: t, from, to, message: `'${from}' → '${to}' (${note})` } : { path, target: t, from, to };
}

const DROP_IN_TEMPLATE = rootPath('templates', 'sysctl-live-migration.conf.hbs');
let dropInText: string | undefined;

/** A drop-in that does not exist yet is rendered from templates/ (later runs edit it in place). */
function newDropIn(values: Record<string, string>): string {
  dropInText ??= readFileSync(DROP_IN_TEMPLATE, 'utf8');
  return renderFile(dropInText, { settings: values }, { file: DROP_IN_TEMPLATE });
}

/**
 * The running values, then the drop-in: one exec with the engine's re-read. Each key is read back
 * after `sysctl -w` (inside a namespace it may exit 0 and change nothing); the first step fails
 * when a value did not take, so the file is then not written.
 */
function applySteps(p: SysctlParams, changes: Change<SysctlTarget>[], st: SysctlState, h: ProbeHost): ApplySteps {
  const runtime = changes.flatMap((c) => (c.target?.facet === 'runtime' ? [{ key: c.target.key, to: String(c.to) }] : []));
  const steps: ApplyStep[] = [];
  if (runtime.length) {
    const sections: Section[] = runtime.map(({ key, to }, i) => ({
      name: `w${i}`,
      cmd: sh`sysctl -q -w ${`${key}=${to}`}; v=$(sysctl -n ${key}); printf '%s\n' "$v"; set -f; set -- $v; [ "$*" = ${to} ] || play_w=1`,
    }));
    steps.push({ run: `${markedScript(sections)}\n[ -z "$play_w" ]`, log: `set ${runtime.map((r) => r.key).join(', ')}` });
  }
  if (changes.some((c) => c.target?.facet === 'file')) {
    const values = fileValues(st, desired(p));
    steps.push({ write: p.file, content: editSysctlFile(st.file ?? newDropIn(values), values), opts: { backup: true } });
  }
  return {
    steps,
    judge([r]) {
      if (!runtime.length || !r) return;
      const s = parseMarked(r.output);
      const errors = runtime.map(({ key, to }, i) => writeProblem(key, to, s[`w${i}`]?.text ?? '', h.hostName)).filter((e) => e !== null);
      if (errors.length) throw new ModuleError(errors.join('\n'));
    },
  };
}

export const sysctl: Module<SysctlParams, SysctlState, SysctlTarget> = {
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
    '',
    'Buffer sizes want "at least", not "exactly": `{ value: ..., compare: minimum }` is in sync when every',
    'field of the host\'s value is at least the wanted one; a lower field is raised and a higher one kept',
    '(`4096 131072 33554432` stays when 4096 87380 16777216 is wanted), and the drop-in never persists less than',
    'the host runs. Flags and modes keep the default `compare: exact`.',
  ].join('\n'),
  params,
  examples: [
    "sysctl:\n  settings:\n    net.ipv4.tcp_rmem: 4096 87380 16777216\n    net.ipv4.tcp_wmem: 4096 65536 16777216\n    net.ipv4.tcp_mtu_probing: 1",
    'sysctl:\n  settings: { vm.swappiness: 10 }\n  persist: false',
    'sysctl:\n  settings:\n    net.core.rmem_max: { value: 16777216, compare: minimum }\n    net.ipv4.tcp_rmem: { value: 4096 87380 16777216, compare: minimum }',
  ],
  validate(p) {
    const out: ParamProblem[] = [];
    for (const k of Object.keys(p.settings ?? {})) {
      if (!KEY_RE.test(k) || k.includes('..')) out.push(paramProblem(`settings.${k}`, 'not a sysctl key name'));
      else {
        const raw = p.settings[k];
        const lb = controlCharProblem(`settings.${k}`, raw !== null && typeof raw === 'object' ? (raw as { value?: unknown }).value : raw);
        if (lb) out.push(lb);
      }
    }
    const fileLb = lineBreakProblem('file', p.file);
    if (fileLb) out.push(fileLb);
    if (p.persist && !p.file.startsWith('/')) out.push(paramProblem('file', `must be an absolute path, got '${p.file}'`));
    if (Object.keys(p.settings ?? {}).length === 0) out.push(paramProblem('settings', 'give at least one key'));
    return out;
  },
  probe,
  diff,
  applySteps,
  result: (st) => ({ values: Object.fromEntries(Object.entries(st.keys).map(([k, v]) => [k, v.value])) }),
};
