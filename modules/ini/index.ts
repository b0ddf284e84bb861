// ini: named keys of a `key = value` file (with or without sections), every other byte kept.
import { paramProblem, type DiffResult, type Module } from '../../engine/module/contract.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import type { ModeParam } from '../lib/files/mode-param.js';
import { textFileProbe } from '../lib/files/meta.js';
import { editedSteps } from '../lib/files/text-file.js';
import { fileChange, metaChanges, type FileTarget, type PathInfo } from '../lib/files/path-info.js';
import { setKeys, type IniChange } from './parse.js';
import { iniKeyProblem, iniSectionProblem } from './checks.js';
import { controlCharProblem } from '../lib/files/line-checks.js';

export interface IniParams {
  path: string;
  section?: string;
  option?: string;
  value?: string;
  settings?: Record<string, unknown>;
  state: 'present' | 'absent';
  no_extra_spaces?: boolean;
  create: boolean;
  backup: boolean;
  mode?: ModeParam;
  owner?: string;
  group?: string;
}

export interface IniState {
  info: PathInfo;
  /** Current text; null when the file does not exist. */
  text: string | null;
}

/** The keys of the task: option/value and settings merged; null = remove. */
export function wantedKeys(p: IniParams): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  const put = (k: string, v: unknown) => {
    out[k] = p.state === 'absent' || v === null || v === undefined ? null : String(v);
  };
  if (p.option !== undefined) put(p.option, p.value);
  for (const [k, v] of Object.entries(p.settings ?? {})) put(k, v);
  return out;
}

/** The key's place in the file: `[section] key`, or `key` in a file without sections. */
const keyTarget = (p: IniParams, c: IniChange): FileTarget => ({ facet: 'content', key: p.section ? `[${p.section}] ${c.key}` : c.key });

/** The edited text and the key changes (pure: diff and apply compute the same). */
function edit(s: IniState, p: IniParams): { text: string; changes: IniChange[] } {
  return setKeys(s.text ?? '', wantedKeys(p), { section: p.section ?? null, noExtraSpaces: p.no_extra_spaces });
}

export function diffIni(s: IniState, p: IniParams): DiffResult<FileTarget> {
  if (s.info.target && s.info.target.type !== 'file') return { changes: [], failures: [`${p.path} is not a regular file`] };
  const e = edit(s, p);
  if (s.text === null && !p.create) {
    return e.changes.length ? { changes: [], failures: [`${p.path} does not exist and create is false`] } : { changes: [] };
  }
  const changes = e.changes.map((c) => fileChange(p.path, keyTarget(p, c), { from: c.from, to: c.to }));
  // A missing file with nothing to set stays missing (state: absent of a key in no file).
  if (s.text === null && changes.length === 0) return { changes };
  // Only the first change carries the whole-file before/after, so --diff shows the file once.
  if (changes.length) Object.assign(changes[0], { before: s.text ?? '', after: e.text });
  changes.push(...metaChanges(p.path, s.info.target, { mode: p.mode, owner: p.owner, group: p.group }));
  return { changes };
}

export const iniModule: Module<IniParams, IniState, FileTarget> = {
  name: 'ini',
  kind: 'state',
  summary: 'Set or remove keys of a `key = value` file (qemu.conf, libvirtd.conf, *.ini), touching nothing else.',
  description:
    'Each key is a facet: `PATH [section] key: old → new`. An existing key is updated in place; a missing key ' +
    'replaces its commented default (`#key = value`) when the file has one, else is appended at the end of its ' +
    'section (the section is created if needed). Comments, blank lines, line endings and the final newline stay ' +
    'byte-identical. section unset = files without sections (qemu.conf). Values are written exactly as given, on ' +
    'one line: quote strings yourself where the format needs it (`value: \'"0.0.0.0"\'`). A value, key or section ' +
    'with a line break is refused, as is a key with `=` or starting with `[`, `#` or `;`, and a section name ' +
    'with brackets: they would change the file\'s structure. A `[ … ]` list value already in the file may span ' +
    'lines (qemu.conf). In a file without sections the same string or list in the other quote style or ' +
    'spacing counts as in sync; in a file with sections quotes are part of the value.',
  params: {
    path: { type: 'str', required: true, description: 'Absolute path of the file.', aliases: ['dest'] },
    section: { type: 'str', description: 'Section name without brackets; unset for files without sections.' },
    option: { type: 'str', description: 'One key to set or remove.', aliases: ['key'] },
    value: { type: 'str', description: 'Its value, written verbatim.' },
    settings: {
      type: 'dict',
      values: { type: 'raw', description: 'value (null removes the key)', check: (v) => (v !== null && typeof v === 'object' ? 'must be a scalar' : undefined) },
      description: 'Several keys at once: {key: value}; null removes a key.',
    },
    state: { type: 'str', default: 'present', choices: ['present', 'absent'], description: 'absent removes every named key.' },
    no_extra_spaces: { type: 'bool', description: 'New lines as key=value (true) or key = value (false); unset: follow the file.' },
    create: { type: 'bool', default: true, description: 'Create the file when it does not exist.' },
    backup: { type: 'bool', default: true, description: 'Keep the previous content as PATH.<timestamp>~.' },
    ...META_PARAMS,
  },
  examples: [
    '- ini:\n    path: /etc/libvirt/qemu.conf\n    settings:\n      migration_port_min: 49152\n      migration_port_max: 49215\n      migration_address: \'"{{ migration_ip }}"\'',
    '- ini:\n    path: /etc/systemd/journald.conf\n    section: Journal\n    option: Storage\n    value: volatile',
  ],
  validate(p) {
    const errs = checkAbsolute('path', p.path);
    if (p.option === undefined && p.settings === undefined) errs.push(paramProblem('option/settings', 'give option (and value) or settings'));
    if (p.option !== undefined && p.value === undefined && p.state === 'present') errs.push(paramProblem('value', 'required with option when state is present'));
    if (p.value !== undefined && p.option === undefined) errs.push(paramProblem('value', 'needs option'));
    const problems = [
      p.section === undefined ? undefined : iniSectionProblem('section', p.section),
      p.option === undefined ? undefined : iniKeyProblem('option', p.option),
      controlCharProblem('value', p.value),
      ...Object.entries(p.settings ?? {}).flatMap(([k, v]) => [iniKeyProblem(`settings.${k}`, k), controlCharProblem(`settings.${k}`, v)]),
    ];
    for (const m of problems) if (m) errs.push(m);
    return errs;
  },
  probe: (p, h) => textFileProbe(h.hostName, p.path),
  diff: (s, p) => diffIni(s, p),
  applySteps: (p, changes, s, h) => editedSteps(h.hostName, p, changes, s, () => edit(s, p).text),
  result: (s, p) => ({ path: p.path, exists: s.text !== null }),
};
