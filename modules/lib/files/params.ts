// Parameter specs shared by every module that manages a path's metadata.
import type { ParamSchema } from '../../../engine/module/schema.js';
import { paramProblem, type ParamProblem } from '../../../engine/module/contract.js';
import { modeProblem } from './mode-param.js';
import { accountProblem } from '../../../engine/module/name-rules.js';

export const META_PARAMS: ParamSchema = {
  mode: {
    type: 'raw',
    description:
      "Octal like '0644' or symbolic like 'u=rw,g=r,o='; quote it. Unquoted, YAML reads 0644 as the number 644 but 0o644 " +
      "as 420, so a number is taken as its digits (644, 0644 → '0644'; 1777, 4755) only when they read as a usual mode " +
      'and its octal value does not; any other (420 from 0o644, 511 from 0o777, 888) is refused, not guessed.',
    check: modeProblem,
  },
  owner: { type: 'str', description: 'User name or numeric uid that owns the path.', check: accountProblem },
  group: { type: 'str', description: 'Group name or numeric gid of the path.', check: accountProblem },
};

/** An absolute path, or a message naming the parameter. */
export function checkAbsolute(name: string, v: unknown): ParamProblem[] {
  return typeof v === 'string' && !v.startsWith('/') && !v.includes('{{') ? [paramProblem(name, `must be an absolute path, got '${v}'`)] : [];
}
