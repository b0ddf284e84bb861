// shell: Ansible's shell module. Our command already runs through /bin/sh, so shell is command
// plus `executable` (run cmd with bash, say); read/diff/apply are command's own.
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { commandModule, READ_ONLY_RULE, type CommandParams, type CommandState } from '../command/index.js';

export const shellModule: Module<CommandParams, CommandState> = {
  ...commandModule,
  name: 'shell',
  summary: 'Run shell text on the host (pipes, redirections, globs), unless creates/removes say it is already done.',
  description:
    'The same as command (which already runs through /bin/sh), plus `executable` to run the text with another shell. ' +
    'A value templated into cmd is pasted in as text, not quoted: pass variable values through `argv` or quote them yourself. ' +
    READ_ONLY_RULE,
  params: {
    ...commandModule.params,
    executable: { type: 'str', description: 'Shell that runs cmd, e.g. /bin/bash (default /bin/sh).' },
  },
  examples: [
    '- shell: virsh list --name | grep -c .\n  register: running_vms\n  changed_when: false\n  check_mode: false',
    '- shell:\n    cmd: set -o pipefail; journalctl -u libvirtd | tail -n 5\n    executable: /bin/bash\n    read_only: true',
  ],
  validate(p) {
    const errs = commandModule.validate!(p);
    if (p.executable !== undefined && !p.executable.startsWith('/')) errs.push(paramProblem('executable', 'give an absolute path, e.g. /bin/bash'));
    return errs;
  },
};
