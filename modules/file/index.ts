// file: a path's kind (file, directory, symlink, absent) and its mode/owner/group.
import { paramProblem, type Change, type DiffResult, type Module } from '../../engine/module/contract.js';
import { runChecked } from '../../engine/connection/host.js';
import { ModuleError } from '../../engine/errors.js';
import { shQuote } from '../../engine/connection/quote.js';
import { META_PARAMS, checkAbsolute } from '../lib/files/params.js';
import type { ModeParam } from '../lib/files/mode-param.js';
import { checkedStep, metaCommand, pathProbe } from '../lib/files/meta.js';
import { fileChange, metaChanges, type FileStat, type FileTarget, type PathInfo } from '../lib/files/path-info.js';

export type FileState = 'file' | 'directory' | 'absent' | 'touch' | 'link';

export interface FileParams {
  path: string;
  state: FileState;
  mode?: ModeParam;
  owner?: string;
  group?: string;
  src?: string;
  force: boolean;
}

const KIND_NAME: Record<FileStat['type'], string> = { file: 'file', directory: 'directory', link: 'link', other: 'special file' };

/** What the path is now, for `from` of a kind change. */
function kindOf(info: PathInfo): string | undefined {
  return info.self ? KIND_NAME[info.self.type] : undefined;
}

const KIND: FileTarget = { facet: 'kind' };
const LINK: FileTarget = { facet: 'link' };

export function diffFile(info: PathInfo, p: FileParams): DiffResult<FileTarget> {
  const path = p.path;
  const kind = kindOf(info);
  const changes: Change<FileTarget>[] = [];
  const failures: string[] = [];
  const meta = { mode: p.mode, owner: p.owner, group: p.group };
  switch (p.state) {
    case 'absent':
      if (info.self) changes.push(fileChange(path, KIND, { from: kind, to: 'absent' }));
      break;
    case 'file':
      // Like Ansible: `file` never creates content; `touch` or copy/template do.
      if (!info.target) failures.push(`${path} does not exist (use state: touch to create an empty file)`);
      else if (info.target.type !== 'file') failures.push(`${path} is a ${KIND_NAME[info.target.type]}, not a file`);
      else changes.push(...metaChanges(path, info.target, meta));
      break;
    case 'touch':
      if (!info.target) {
        if (info.self) failures.push(`${path} is a dangling symlink to ${info.linkTarget}`);
        else changes.push(fileChange(path, KIND, { from: undefined, to: 'file' }), ...metaChanges(path, null, meta));
      } else changes.push(...metaChanges(path, info.target, meta));
      break;
    case 'directory':
      if (!info.target) {
        if (info.self) failures.push(`${path} is a dangling symlink to ${info.linkTarget}`);
        else changes.push(fileChange(path, KIND, { from: undefined, to: 'directory' }), ...metaChanges(path, null, meta, 'directory'));
      } else if (info.target.type !== 'directory') failures.push(`${path} is a ${KIND_NAME[info.target.type]}, not a directory`);
      else changes.push(...metaChanges(path, info.target, meta));
      break;
    case 'link': {
      const src = p.src as string;
      if (info.self?.type === 'link') {
        if (info.linkTarget !== src) changes.push(fileChange(path, LINK, { from: info.linkTarget, to: src }));
      } else if (info.self?.type === 'directory') failures.push(`${path} is a directory; refusing to replace it with a symlink`);
      else if (info.self && !p.force) failures.push(`${path} is a ${kind}; set force: true to replace it with a symlink`);
      else changes.push(fileChange(path, LINK, { from: info.self ? kind : undefined, to: src }));
      // A symlink has no mode of its own on Linux; owner/group apply to the link itself.
      const cur = info.self?.type === 'link' && info.linkTarget === src ? info.self : null;
      changes.push(...metaChanges(path, cur, { owner: p.owner, group: p.group }));
      break;
    }
  }
  return { changes, failures };
}

export const fileModule: Module<FileParams, PathInfo, FileTarget> = {
  name: 'file',
  kind: 'state',
  summary: 'Make a path a file, directory or symlink (or remove it) with the given mode/owner/group.',
  description:
    'Facets: kind (`path: (absent) → directory`), `path mode`, `path owner`, `path group`, `path link`.\n' +
    'state: file only manages metadata of an existing file; touch creates an empty file if missing and never ' +
    'changes timestamps of an existing one (idempotent, unlike Ansible); absent removes recursively.',
  params: {
    path: { type: 'str', required: true, description: 'Absolute path on the host.', aliases: ['dest', 'name'] },
    state: { type: 'str', default: 'file', choices: ['file', 'directory', 'absent', 'touch', 'link'], description: 'What the path must be.' },
    ...META_PARAMS,
    src: { type: 'str', description: 'Target of the symlink (state: link), written as given.' },
    force: { type: 'bool', default: false, description: 'state: link: replace an existing file or symlink.' },
  },
  examples: [
    '- file:\n    path: /etc/play\n    state: directory\n    mode: "0755"',
    '- file:\n    path: /etc/libvirt/hooks/qemu\n    mode: "0755"\n    owner: root',
    '- file:\n    path: /etc/play/current\n    state: link\n    src: /etc/play/releases/42',
    '- file:\n    path: /var/lib/play/old.flag\n    state: absent',
  ],
  validate(p) {
    const errs = checkAbsolute('path', p.path);
    if (p.path === '/') errs.push(paramProblem('path', 'refusing to manage /'));
    if (p.state === 'link' && !p.src) errs.push(paramProblem('src', "required when state is 'link'"));
    if (p.state !== 'link' && p.src !== undefined) errs.push(paramProblem('src', "only used with state 'link'"));
    if (p.state === 'link' && p.mode !== undefined) errs.push(paramProblem('mode', 'a symlink has no mode of its own; set it on the target'));
    if (p.state === 'absent' && (p.mode ?? p.owner ?? p.group) !== undefined) errs.push(paramProblem('mode/owner/group', 'meaningless with state absent'));
    return errs;
  },
  probe: (p, h) => pathProbe(h.hostName, p.path),
  diff: (info, p) => diffFile(info, p),
  // Its commands, chained (`&&`), go in one step the engine sends with the re-read.
  applySteps(p, changes, info, h) {
    const path = shQuote(p.path);
    const kindChange = changes.some((c) => c.target?.facet === 'kind');
    const cmds: Array<string | undefined> = [];
    if (p.state === 'absent') cmds.push(`rm -rf -- ${path}`);
    else if (!info.parentExists && (kindChange || p.state === 'link')) throw new ModuleError(`cannot create ${p.path}: its parent directory does not exist`);
    else if (p.state === 'link') {
      if (changes.some((c) => c.target?.facet === 'link')) cmds.push(`ln -sfn -- ${shQuote(p.src!)} ${path}`);
      cmds.push(metaCommand(p.path, changes, true));
    } else {
      if (kindChange && p.state === 'directory') cmds.push(`mkdir -- ${path}`);
      if (kindChange && p.state === 'touch') cmds.push(`touch -- ${path}`);
      cmds.push(metaCommand(p.path, changes));
    }
    const step = checkedStep(h.hostName, cmds.filter((c) => c !== undefined).join(' && ') || 'true');
    return { steps: [step.step], judge: ([out]) => step.judge(out) };
  },
  result: (info) => ({ path: info.path, exists: info.self !== null, state: info.self ? KIND_NAME[info.self.type] : 'absent' }),
};
