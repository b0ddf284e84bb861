// Parameter specs shared by every module that manages a path's metadata.
import type { ParamSchema } from '../../engine/schema.js';
import { validMode } from '../../engine/connection/base-host.js';

function checkMode(v: string): string | undefined {
  try {
    validMode(v);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

export const META_PARAMS: ParamSchema = {
  mode: { type: 'str', description: "Octal like '0644' (quote it in YAML) or symbolic like 'u=rw,g=r,o='.", check: checkMode },
  owner: { type: 'str', description: 'User name or numeric uid that owns the path.' },
  group: { type: 'str', description: 'Group name or numeric gid of the path.' },
};

/** An absolute path, or a message naming the parameter. */
export function checkAbsolute(name: string, v: unknown): string[] {
  return typeof v === 'string' && !v.startsWith('/') && !v.includes('{{') ? [`${name}: must be an absolute path, got '${v}'`] : [];
}
