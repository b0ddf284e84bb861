// command: run a command (through sh) when it is due; creates/removes make it idempotent.
import { paramProblem, type ParamProblem, type Module } from '../../engine/module/contract.js';
import { CommandFailedError } from '../../engine/errors.js';
import { shJoin, shQuote } from '../../engine/connection/quote.js';
import { commandLine, outputData, resolveIn } from './parse.js';

export interface CommandParams {
  cmd?: string;
  argv?: string[];
  chdir?: string;
  creates?: string;
  removes?: string;
  stdin?: string;
  stdin_add_newline: boolean;
  read_only?: boolean;
  /** shell only: the shell that runs cmd (default /bin/sh). */
  executable?: string;
}

export interface CommandState {
  cmd: string;
  /** Why the command is not due (creates exists / removes missing); undefined = due. */
  skipReason?: string;
}

/** The one rule for commands in checks, shown by `play modules command` and `play modules shell`. */
export const READ_ONLY_RULE =
  'A check writes nothing, so a command normally only previews there ("would run: CMD", counted as unknown). ' +
  'A command that only reads (ip -j link show, virsh list) may say so: `check_mode: false` on the task (Ansible\'s way) ' +
  'or `read_only: true`. It then runs during `play check` too, its output registers for later tasks, and it counts as in sync. ' +
  'check_mode: false on any other module is ignored in a check: it still only previews.';
const READ_ONLY_DOC = 'The command only reads: it runs during checks too and always counts as ok (in sync), never changed.';

export const commandModule: Module<CommandParams, CommandState> = {
  name: 'command',
  kind: 'action',
  freeForm: 'cmd',
  summary: 'Run a command on the host (through /bin/sh), unless creates/removes say it is already done.',
  description:
    'In check mode the command is reported as "would run: CMD" (a pending change), never silently skipped. ' +
    'A non-zero exit fails the task; rc, stdout, stderr and stdout_lines still reach `register`. ' +
    'The command runs with LC_ALL=C. cmd is shell text run by /bin/sh, so unlike Ansible\'s command module ' +
    '(and like its shell module) `;`, `|`, `>`, `&&`, globs and $VAR in it are the shell\'s. A value templated into ' +
    'cmd is pasted in as text, not quoted: a variable holding `x; reboot` runs both. Pass values that come from ' +
    'variables through argv, a list of words each quoted as one argument. ' +
    READ_ONLY_RULE,
  params: {
    cmd: { type: 'str', description: 'Shell command line (the free-form value of `command: ...`), run by /bin/sh; templated values are not quoted.' },
    argv: { type: 'list', elements: { type: 'str', description: 'one word' }, description: 'The command as a list of words, each quoted: the safe way to pass values from variables.' },
    chdir: { type: 'str', description: 'Directory to run in.' },
    creates: { type: 'str', description: 'Skip when this path exists (relative paths are under chdir).' },
    removes: { type: 'str', description: 'Skip when this path does not exist.' },
    stdin: { type: 'str', description: "Text fed to the command's standard input." },
    stdin_add_newline: { type: 'bool', default: true, description: 'Append a newline to stdin.' },
    read_only: { type: 'bool', default: false, description: READ_ONLY_DOC },
  },
  examples: [
    '- command: virsh list --all\n  register: domains',
    '- command:\n    argv: [virsh, migrate-setspeed, "{{ vm }}", "10000"]',
    '- name: read the migration link (runs in checks too)\n  command: ip -j link show eth1\n  register: link\n  changed_when: false\n  check_mode: false',
    '- command:\n    cmd: ssh-keygen -q -t ed25519 -N "" -f /root/.ssh/id_migration\n    creates: /root/.ssh/id_migration',
  ],
  validate(p) {
    const errs: ParamProblem[] = [];
    if ((p.cmd === undefined) === (p.argv === undefined)) errs.push(paramProblem('cmd/argv', 'give exactly one of them'));
    if (p.argv !== undefined && p.argv.length === 0) errs.push(paramProblem('argv', 'must not be empty'));
    if (p.cmd !== undefined && p.cmd.trim() === '') errs.push(paramProblem('cmd', 'must not be empty'));
    return errs;
  },
  async read(ctx, p) {
    const cmd = p.cmd ?? shJoin(p.argv!);
    if (p.creates === undefined && p.removes === undefined) return { cmd };
    // One round trip answers both: c = creates exists, r = removes exists.
    const test = (path: string | undefined, tag: string) =>
      path === undefined ? '' : `if [ -e ${shQuote(resolveIn(path, p.chdir))} ]; then echo ${tag}=1; else echo ${tag}=0; fi; `;
    const r = await ctx.host.run(test(p.creates, 'c') + test(p.removes, 'r'));
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, 'test creates/removes', r.code, r.stderr, r.signal);
    if (r.stdout.includes('c=1')) return { cmd, skipReason: `skipped, since ${p.creates} exists` };
    if (r.stdout.includes('r=0')) return { cmd, skipReason: `skipped, since ${p.removes} does not exist` };
    return { cmd };
  },
  diff: (s) => (s.skipReason ? [] : [{ path: 'command', message: `would run: ${s.cmd}`, done: `ran: ${s.cmd}`, action: true }]),
  // One step, its stdout and stderr kept apart and exact; the engine sends the next tasks' reads
  // after it in the same exec (delta_ms is that exec's time).
  applySteps(p, _changes, s, h) {
    const stdin = p.stdin === undefined ? undefined : p.stdin + (p.stdin_add_newline ? '\n' : '');
    return {
      steps: [{ run: commandLine(s.cmd, p.chdir, p.executable), apart: { stdin } }],
      judge([out]) {
        const r = { stdout: out!.output, stderr: out!.stderr ?? '', code: out!.code, signal: out!.signal };
        const data = { ...outputData(s.cmd, r), delta_ms: out!.ms };
        if (r.code !== 0) {
          const err = new CommandFailedError(h.hostName, s.cmd, r.code, r.stderr, r.signal);
          err.data = data;
          throw err;
        }
        return { data };
      },
    };
  },
  // A skipped command still registers the same shape, so `when: out.rc == 0` keeps working.
  result: (s) => ({ cmd: s.cmd, rc: 0, stdout: '', stderr: '', stdout_lines: [], stderr_lines: [], msg: s.skipReason }),
};
