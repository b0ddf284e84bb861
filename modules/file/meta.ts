// Reading a path and setting its metadata on a host: shared by file, copy, template, ini, stat.
import type { Host } from '../../engine/host.js';
import type { Change } from '../../engine/module.js';
import { CommandFailedError } from '../../engine/errors.js';
import { runChecked } from '../../engine/host.js';
import { shQuote } from '../../engine/quote.js';
import { STAT_FORMAT, metaFacet, parsePathInfo, type PathInfo } from './parse.js';

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

/** chmod/chown/chgrp for the metadata changes among `changes` (the resolved octal mode is used). */
export async function applyMeta(host: Host, path: string, changes: Change[], isLink = false): Promise<void> {
  const p = shQuote(path);
  const h = isLink ? '-h ' : '';
  const cmds: string[] = [];
  for (const c of changes) {
    const facet = metaFacet(path, c);
    if (facet === 'mode') cmds.push(`chmod ${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'owner') cmds.push(`chown ${h}${shQuote(String(c.to))} -- ${p}`);
    if (facet === 'group') cmds.push(`chgrp ${h}${shQuote(String(c.to))} -- ${p}`);
  }
  if (cmds.length) await runChecked(host, cmds.join(' && '));
}
