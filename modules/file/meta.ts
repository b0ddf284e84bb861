// Reading a path and setting its metadata on a host: shared by file, copy, template, ini, stat.
import type { Host } from '../../engine/host.js';
import type { Change } from '../../engine/module.js';
import type { Probe } from '../../engine/connection/sections.js';
import { CommandFailedError } from '../../engine/errors.js';
import { runChecked } from '../../engine/host.js';
import { shQuote } from '../../engine/quote.js';
import { STAT_FORMAT, metaFacet, parsePathInfo, type FileTarget, type PathInfo } from './parse.js';

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

/**
 * readPath and, when it is a regular file, its content — in the same round trip: the four lines
 * of readPathScript, then the bytes of the file. copy, template and ini read (and the engine
 * re-reads after apply) through this, so each read is one exec instead of two.
 */
export async function readPathWithContent(host: Host, path: string): Promise<{ info: PathInfo; content: Buffer | null }> {
  const cmd = `${readPathScript(path)}
if [ -f "$p" ]; then cat -- "$p" || exit 6; fi`;
  const r = await host.runBytes(cmd);
  if (r.code !== 0) throw new CommandFailedError(host.name, `read ${path}`, r.code, r.stderr, r.signal);
  let end = -1;
  for (let n = 0; n < 4; n++) {
    end = r.stdout.indexOf(10, end + 1);
    if (end < 0) break;
  }
  const head = end < 0 ? r.stdout.toString('utf8') : r.stdout.subarray(0, end + 1).toString('utf8');
  const info = parsePathInfo(path, head);
  return { info, content: info.target?.type === 'file' ? r.stdout.subarray(end + 1) : null };
}

/**
 * readPathWithContent as a probe, so the engine can batch it: the content comes base64-encoded
 * (a batch travels as text, and a file's bytes must come back exact).
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
  const p = shQuote(path);
  const h = isLink ? '-h ' : '';
  const cmds: string[] = [];
  for (const c of changes) {
    const facet = metaFacet(c);
    if (facet === 'mode') cmds.push(`chmod ${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'owner') cmds.push(`chown ${h}${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'group') cmds.push(`chgrp ${h}${shQuote(String(c.to))} -- ${p}`);
  }
  if (cmds.length) await runChecked(host, cmds.join(' && '));
}
