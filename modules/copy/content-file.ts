// A file with given content and metadata: the read/diff/apply shared by copy and template.
import type { ApplyOutcome, ApplySteps, Change, DiffResult, ModuleContext, ProbeHost } from '../../engine/module/contract.js';
import type { Probe } from '../../engine/connection/sections.js';
import { ModuleError } from '../../engine/errors.js';
import { runChecked } from '../../engine/connection/host.js';
import { shQuote } from '../../engine/connection/quote.js';
import { applyMeta, checkedStep, metaCommand, pathWithContentProbe } from '../lib/files/meta.js';
import { diffOmission, diffText, fileChange, metaChanges, metaWanted, type FileTarget, type PathInfo } from '../lib/files/path-info.js';
import type { ModeParam } from '../lib/files/mode-param.js';

export interface ContentParams {
  dest: string;
  mode?: ModeParam;
  owner?: string;
  group?: string;
  backup: boolean;
  /** A command with %s, run on a temporary copy of the new content before it replaces dest. */
  validate?: string;
}

export interface ContentState {
  info: PathInfo;
  /** Current content; null when dest does not exist. */
  current: Buffer | null;
  /** The content the task wants (already rendered for templates). */
  want: Buffer;
}

/** The dest's side of the state, as a probe; `want` is the module's readMore's (local: content, src or rendering). */
export function contentProbe(h: ProbeHost, dest: string): Probe<ContentState> {
  const probe = pathWithContentProbe(h.hostName, dest);
  return {
    script: probe.script,
    parse(r) {
      const { info, content } = probe.parse(r);
      return { info, current: content, want: Buffer.alloc(0) };
    },
  };
}

const bytes = (n: number) => `${n} byte${n === 1 ? '' : 's'}`;

export function diffContent(s: ContentState, p: ContentParams): DiffResult<FileTarget> {
  const { info, current, want } = s;
  if (info.target && info.target.type !== 'file') {
    return { changes: [], failures: [`${p.dest} is a ${info.target.type === 'directory' ? 'directory' : 'special file'}, not a file`] };
  }
  const changes: Change<FileTarget>[] = [];
  if (current === null || !current.equals(want)) {
    const c = fileChange(p.dest, { facet: 'content' }, {
      message: current === null ? `create (${bytes(want.length)})` : `content changes (${bytes(current.length)} → ${bytes(want.length)})`,
    });
    const before = diffText(current);
    const after = diffText(want);
    if (before !== undefined && after !== undefined) Object.assign(c, { before, after });
    else {
      const omitted = [['old', diffOmission(current)], ['new', diffOmission(want)]].filter(([, why]) => why).map(([side, why]) => `${side} content: ${why}`);
      c.diffOmitted = omitted.join('; ');
    }
    changes.push(c);
  }
  changes.push(...metaChanges(p.dest, info.target, { mode: p.mode, owner: p.owner, group: p.group }));
  return { changes };
}

/** Runs `validate` on a temporary copy beside dest; throws ModuleError when it fails. */
async function validateContent(ctx: ModuleContext, p: ContentParams, want: Buffer): Promise<void> {
  const dir = p.dest.replace(/\/[^/]*$/, '') || '/';
  const mk = await runChecked(ctx.host, `mktemp ${shQuote(dir)}/.play-validate.XXXXXX`);
  const tmp = mk.stdout.trim();
  try {
    await ctx.host.writeFile(tmp, want, { mode: '0600' });
    // The command is the user's own (like a command task); only the path is ours to quote.
    const r = await ctx.host.run(p.validate!.split('%s').join(shQuote(tmp)));
    if (r.code !== 0) {
      const err = new ModuleError(`validate failed (exit ${r.code}) for ${p.dest}: ${p.validate}\n${(r.stderr || r.stdout).trim()}`);
      err.data = { rc: r.code, stdout: r.stdout, stderr: r.stderr };
      throw err;
    }
  } finally {
    await ctx.host.run(`rm -f -- ${shQuote(tmp)}`);
  }
}

export async function applyContent(ctx: ModuleContext, p: ContentParams, changes: Change<FileTarget>[], s: ContentState): Promise<ApplyOutcome> {
  const contentChange = changes.some((c) => c.target?.facet === 'content');
  if (!contentChange) {
    await applyMeta(ctx.host, p.dest, changes);
    return {};
  }
  if (!s.info.parentExists) throw new ModuleError(`cannot write ${p.dest}: its parent directory does not exist`);
  if (p.validate) await validateContent(ctx, p, s.want);
  const w = await ctx.host.writeFile(p.dest, s.want, { ...metaWanted(changes), backup: p.backup && s.current !== null });
  return w.backupPath ? { backups: [w.backupPath], data: { backup_file: w.backupPath } } : {};
}

/**
 * The apply as steps (sent with the re-read in one exec): the metadata alone, or the content
 * written with it. Undefined with `validate`, whose command must pass before the write (applyContent).
 */
export function contentSteps(p: ContentParams, changes: Change<FileTarget>[], s: ContentState, h: ProbeHost): ApplySteps | undefined {
  if (p.validate) return undefined;
  if (!changes.some((c) => c.target?.facet === 'content')) {
    const meta = checkedStep(h.hostName, metaCommand(p.dest, changes) ?? 'true');
    return { steps: [meta.step], judge: ([out]) => meta.judge(out) };
  }
  if (!s.info.parentExists) throw new ModuleError(`cannot write ${p.dest}: its parent directory does not exist`);
  // (register's backup_file comes from the backup the engine reports)
  return { steps: [{ write: p.dest, content: s.want, opts: { ...metaWanted(changes), backup: p.backup && s.current !== null } }] };
}

/** `register` data: where the file is and what it holds now. */
export function contentResult(s: ContentState, p: ContentParams): Record<string, unknown> {
  return { dest: p.dest, size: s.want.length, mode: s.info.target?.mode, owner: s.info.target?.owner, group: s.info.target?.group };
}
