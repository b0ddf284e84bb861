// Reading a path and setting its metadata on a host: shared by file, copy, template, ini, stat.
import type { Host } from '../../../engine/connection/host.js';
import type { Change, RunStep, StepOutput } from '../../../engine/module/contract.js';
import type { Probe } from '../../../engine/connection/sections.js';
import { CommandFailedError, ModuleError } from '../../../engine/errors.js';
import { runChecked } from '../../../engine/connection/host.js';
import { shQuote } from '../../../engine/connection/quote.js';
import { STAT_FORMAT, diffOmission, diffText, metaFacet, parsePathInfo, type FileTarget, type PathInfo } from './path-info.js';

/** One round trip: the path itself, what it points to, the link target, whether the parent exists. */
export function readPathScript(path: string): string {
  return [
    `p=${shQuote(path)}; F=${shQuote(STAT_FORMAT)}`,
    'if [ -L "$p" ] || [ -e "$p" ]; then stat -c "$F" -- "$p" || exit 5; else echo missing; fi',
    'if [ -e "$p" ]; then stat -L -c "$F" -- "$p" || exit 5; else echo missing; fi',
    'if [ -L "$p" ]; then readlink -- "$p"; else echo; fi',
    'if [ -d "$(dirname -- "$p")" ]; then echo parent; else echo noparent; fi',
  ].join('\n');
}

export async function readPath(host: Host, path: string): Promise<PathInfo> {
  const cmd = readPathScript(path);
  const r = await host.run(cmd);
  if (r.code !== 0) throw new CommandFailedError(host.name, `stat ${path}`, r.code, r.stderr, r.signal);
  return parsePathInfo(path, r.stdout);
}

/** readPath as a probe, so the engine can batch it. */
export function pathProbe(hostName: string, path: string): Probe<PathInfo> {
  return {
    script: readPathScript(path),
    parse(r) {
      if (r.code !== 0) throw new CommandFailedError(hostName, `stat ${path}`, r.code, r.stderr || r.stdout);
      return parsePathInfo(path, r.stdout);
    },
  };
}

/** A text file this module can edit, as a probe: its path info and text (null when absent). */
export function textFileProbe(hostName: string, path: string): Probe<{ info: PathInfo; text: string | null }> {
  const probe = pathWithContentProbe(hostName, path);
  return {
    script: probe.script,
    parse(r) {
      const { info, content } = probe.parse(r);
      if (content !== null && diffText(content) === undefined) throw new ModuleError(`${path} is not a text file this module can edit: ${diffOmission(content)}`);
      return { info, text: content === null ? null : content.toString('utf8') };
    },
  };
}

/**
 * The path (readPathScript's four lines) and, when it is a regular file, its content, in one
 * round trip, as a probe: copy, template, ini and the line editors read (and the engine re-reads
 * after apply) through it. The content comes base64-encoded (a batch travels as text, and a
 * file's bytes must come back exact).
 */
export function pathWithContentProbe(hostName: string, path: string): Probe<{ info: PathInfo; content: Buffer | null }> {
  return {
    script: `${readPathScript(path)}\nif [ -f "$p" ]; then base64 -- "$p" || exit 6; fi`,
    parse(r) {
      if (r.code !== 0) throw new CommandFailedError(hostName, `read ${path}`, r.code, r.stderr || r.stdout);
      const lines = r.stdout.split('\n');
      const info = parsePathInfo(path, `${lines.slice(0, 4).join('\n')}\n`);
      return { info, content: info.target?.type === 'file' ? Buffer.from(lines.slice(4).join(''), 'base64') : null };
    },
  };
}

/** chmod/chown/chgrp for the metadata changes among `changes` (the resolved octal mode is used). */
export async function applyMeta(host: Host, path: string, changes: Change<FileTarget>[], isLink = false): Promise<void> {
  const cmd = metaCommand(path, changes, isLink);
  if (cmd) await runChecked(host, cmd);
}

/** The metadata changes as one command (`chmod … && chown …`), or undefined when there are none. */
export function metaCommand(path: string, changes: Change<FileTarget>[], isLink = false): string | undefined {
  const p = shQuote(path);
  const h = isLink ? '-h ' : '';
  const cmds: string[] = [];
  for (const c of changes) {
    const facet = metaFacet(c);
    if (facet === 'mode') cmds.push(`chmod ${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'owner') cmds.push(`chown ${h}${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'group') cmds.push(`chgrp ${h}${shQuote(String(c.to))} -- ${p}`);
  }
  return cmds.length ? cmds.join(' && ') : undefined;
}

/** A command step (the engine sends it with the re-read); its failure reads as runChecked's. */
export function checkedStep(hostName: string, cmd: string): { step: RunStep; judge(out: StepOutput | undefined): void } {
  return {
    step: { run: cmd },
    judge(out) {
      if (out && out.code !== 0) throw new CommandFailedError(hostName, cmd, out.code, out.output);
    },
  };
}
