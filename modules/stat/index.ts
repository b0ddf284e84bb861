// stat: facts about a path for `register` (exists, kind, mode, owner, size, sha256); changes nothing.
import type { Module } from '../../engine/module/contract.js';
import { CommandFailedError } from '../../engine/errors.js';
import { checkAbsolute } from '../lib/files/params.js';
import { readPath, readPathScript } from '../lib/files/meta.js';
import { parsePathInfo, type PathInfo } from '../lib/files/path-info.js';

export interface StatParams {
  path: string;
  get_checksum: boolean;
}

export interface StatState {
  info: PathInfo;
  sha256?: string;
}

export function statResult(s: StatState): Record<string, unknown> {
  const t = s.info.target;
  const self = s.info.self;
  if (!self) return { stat: { exists: false } };
  return {
    stat: {
      exists: true,
      path: s.info.path,
      islnk: self.type === 'link',
      lnk_target: s.info.linkTarget,
      isreg: t?.type === 'file',
      isdir: t?.type === 'directory',
      mode: t?.mode,
      pw_name: t?.owner,
      gr_name: t?.group,
      uid: t?.uid,
      gid: t?.gid,
      size: t?.size,
      checksum: s.sha256,
    },
  };
}

export const statModule: Module<StatParams, StatState> = {
  name: 'stat',
  kind: 'state',
  summary: 'Read facts about a path for `register` (never changes anything).',
  description: 'register gets stat.exists, isreg, isdir, islnk, lnk_target, mode, pw_name, gr_name, uid, gid, size and checksum (sha256 of a regular file). Symlinks are followed for everything but islnk/lnk_target.',
  params: {
    path: { type: 'str', required: true, description: 'Absolute path on the host.' },
    get_checksum: { type: 'bool', default: true, description: 'Compute the sha256 of a regular file.' },
  },
  examples: ['- stat:\n    path: /etc/libvirt/qemu.conf\n  register: qemu_conf\n- debug:\n    var: qemu_conf.stat.checksum'],
  validate: (p) => checkAbsolute('path', p.path),
  async read(ctx, p) {
    if (!p.get_checksum) return { info: await readPath(ctx.host, p.path) };
    // The checksum rides in the same round trip, as a fifth line after readPathScript's four.
    const r = await ctx.host.run(`${readPathScript(p.path)}\nif [ -f "$p" ]; then sha256sum -- "$p" || exit 6; fi`);
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, `stat ${p.path}`, r.code, r.stderr, r.signal);
    const lines = r.stdout.split('\n');
    const info = parsePathInfo(p.path, lines.slice(0, 4).join('\n') + '\n');
    return info.target?.type === 'file' ? { info, sha256: (lines[4] ?? '').split(/\s/)[0] } : { info };
  },
  diff: () => [],
  result: (s) => statResult(s),
};
