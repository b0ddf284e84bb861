// reboot: reboot the host, reconnect and wait until it runs a new boot and answers (Ansible's
// ansible.builtin.reboot). The engine gives the module a fresh connection (ctx.reconnect).
import { setTimeout as sleep } from 'node:timers/promises';
import { paramProblem, type ParamProblem, type Module, type ModuleContext } from '../../engine/module/contract.js';
import type { Host } from '../../engine/connection/host.js';
import { CommandFailedError, ConnectionError, ModuleError, TimeoutError } from '../../engine/errors.js';
import { interrupted } from '../../engine/connection/base-host.js';
import { defaultRebootCommand, launchScript, parseBootId, parseLaunch, retryDelayS, type RebootParams } from './parse.js';

export interface RebootState {
  /** The boot before the reboot: the host is back when it reports another one. */
  bootId: string;
}

const DEFAULT_CONNECT_TIMEOUT_S = 10;

async function readBootId(host: Host, hostName: string, p: RebootParams): Promise<string> {
  const r = await host.run(p.boot_time_command);
  if (r.code !== 0) throw new CommandFailedError(hostName, p.boot_time_command, r.code, r.stderr, r.signal);
  const id = parseBootId(r.stdout);
  if (!id) throw new ModuleError(`reboot: boot_time_command \`${p.boot_time_command}\` printed nothing on ${hostName}: it must print something that changes with every boot`);
  return id;
}

/** Seconds, stopping early (InterruptedError) when the run is interrupted or the task times out. */
async function pause(ctx: ModuleContext, seconds: number): Promise<void> {
  if (seconds <= 0) return;
  await sleep(seconds * 1000, undefined, { signal: ctx.signal }).catch(() => undefined);
  if (ctx.signal.aborted) throw interrupted(ctx.hostName, ctx.signal);
}

/** Starts the reboot, detached; a lost connection is what a reboot does, a failed command is not. */
async function launch(ctx: ModuleContext, p: RebootParams): Promise<void> {
  const cmd = p.reboot_command ?? defaultRebootCommand(p.msg);
  let r;
  try {
    r = await ctx.host.run(launchScript(cmd));
  } catch (e) {
    if (e instanceof ConnectionError) return ctx.log(`${ctx.hostName}: the connection dropped while the reboot started (expected)`);
    throw e;
  }
  const l = parseLaunch(r.stdout);
  // Killed by the shutdown before it could report (no exit status, or the shell's 128+signal
  // when the session wrapper saw it die): also a reboot under way. The reboot command's own
  // status always arrives through the launch script's marker instead.
  const killed = r.code === null || (r.code > 128 && r.code <= 128 + 64);
  if (!l && killed) return ctx.log(`${ctx.hostName}: the session was ended while the reboot started (expected)`);
  if (r.code !== 0 || !l) throw new CommandFailedError(ctx.hostName, `start the reboot: ${cmd}`, r.code, r.stderr || r.stdout, r.signal);
  if (l.ended && l.code !== 0) throw new ModuleError(`reboot: the reboot command failed on ${ctx.hostName} (exit ${l.code}): ${cmd}${l.output ? `\n${l.output}` : ''}`);
}

/** One look at the host on a new connection: the answer, or why it is not back yet. */
async function probe(ctx: ModuleContext, p: RebootParams, before: string, connectTimeoutS: number): Promise<{ back: true } | { back: false; why: string }> {
  try {
    const host = await ctx.reconnect({ connectTimeoutS });
    const id = await readBootId(host, ctx.hostName, p);
    if (id === before) return { back: false, why: `still the same boot (boot id ${id}): the reboot has not happened yet` };
    const t = await host.run(p.test_command);
    if (t.code === 0) return { back: true };
    return { back: false, why: `new boot, but test_command \`${p.test_command}\` failed (exit ${t.code})${t.stderr.trim() ? `: ${t.stderr.trim()}` : ''}` };
  } catch (e) {
    if (ctx.signal.aborted) throw interrupted(ctx.hostName, ctx.signal);
    if (e instanceof ConnectionError || e instanceof CommandFailedError || e instanceof TimeoutError || e instanceof ModuleError) return { back: false, why: e.message };
    throw e;
  }
}

/** Reconnects until the host runs a new boot and test_command succeeds, or reboot_timeout passes. */
async function waitBack(ctx: ModuleContext, p: RebootParams, before: string, started: number): Promise<void> {
  const deadline = started + p.reboot_timeout * 1000;
  const perAttempt = p.connect_timeout ?? (Number(ctx.vars.ansible_timeout) || DEFAULT_CONNECT_TIMEOUT_S);
  let last = 'no connection attempt was made';
  for (let n = 1; ; n++) {
    const left = (deadline - Date.now()) / 1000;
    if (left <= 0) break;
    const r = await probe(ctx, p, before, Math.max(0.5, Math.min(perAttempt, left)));
    if (r.back) return;
    last = r.why;
    const waited = Math.round((Date.now() - started) / 1000);
    ctx.progress(`waiting for ${ctx.hostName} to come back: ${waited} s of ${p.reboot_timeout} s`);
    ctx.log(`${ctx.hostName}: not back after ${waited} s: ${last}`);
    await pause(ctx, Math.min(retryDelayS(n), Math.max(0, (deadline - Date.now()) / 1000)));
  }
  throw new ModuleError(`reboot: ${ctx.hostName} did not come back within reboot_timeout (${p.reboot_timeout} s) after the reboot command; last attempt: ${last}`);
}

export const rebootModule: Module<RebootParams, RebootState> = {
  name: 'reboot',
  kind: 'action',
  summary: 'Reboot the host, reconnect, and wait until it runs a new boot and answers test_command.',
  description:
    'Reads the boot id (boot_time_command), waits pre_reboot_delay, starts reboot_command detached from the SSH session ' +
    '(the session ending is expected; a command that fails at once fails the task), waits post_reboot_delay, then drops ' +
    "the host's connection and reconnects (each attempt at most connect_timeout, then 1, 2 … 5 s apart) until boot_time_command " +
    'prints something else and test_command succeeds. Later tasks of the host use the new connection. After ' +
    'reboot_timeout seconds (counted from the reboot command) the task fails, naming the host, the timeout and the last ' +
    'attempt. register gets rebooted: true and elapsed (seconds from the reboot command to the answer). In check mode it ' +
    'reports "would reboot" and does nothing (the boot id is read, nothing else), so `play check` counts it as unknown ' +
    'every time unless a `when:` says when a reboot is due (see the examples). ' +
    'The default reboot_command is `shutdown -r now MSG` (on Debian 12 systemd\'s shutdown, the same as `systemctl reboot`), ' +
    'else `systemctl reboot` on a systemd host, else `reboot`; never a forced reboot. ' +
    'A `play lab` host shares the machine\'s kernel: its shutdown and reboot are the lab\'s reboot of that host, and ' +
    '"{{ lab_reboot_command }} SECONDS" sets how long it stays down (docs/kvm-lab.md).',
  params: {
    reboot_timeout: { type: 'int', default: 600, description: 'Seconds from the reboot command until the host must answer test_command again.' },
    pre_reboot_delay: { type: 'int', default: 0, description: 'Seconds to wait before starting the reboot command.' },
    post_reboot_delay: { type: 'int', default: 0, description: 'Seconds to wait after the reboot command before the first reconnection attempt.' },
    connect_timeout: { type: 'int', description: "Seconds one connection attempt may take (default: the host's ansible_timeout, else 10)." },
    test_command: { type: 'str', default: 'whoami', description: 'Command that must succeed on the new boot before the host counts as back.' },
    msg: { type: 'str', default: 'Reboot initiated by play', description: 'Message to logged-in users (the default reboot command passes it to shutdown).' },
    reboot_command: { type: 'str', description: 'Shell command that reboots the host (default: see above).' },
    boot_time_command: {
      type: 'str',
      default: 'cat /proc/sys/kernel/random/boot_id',
      description: 'Command whose output changes with every boot: the host is back when it prints something else.',
    },
  },
  examples: [
    '- name: reboot after the kernel update\n  reboot:\n    reboot_timeout: 900\n  become: true',
    '- name: a package asked for a reboot (Debian writes /var/run/reboot-required)\n  stat:\n    path: /var/run/reboot-required\n  register: reboot_required\n' +
      '- reboot:\n    post_reboot_delay: 10\n  when: reboot_required.stat.exists',
    '- ansible.builtin.reboot:\n    msg: rebooting for the new kernel command line\n    pre_reboot_delay: 5\n    test_command: systemctl is-active libvirtd\n  register: boot\n- debug:\n    msg: "back after {{ boot.elapsed }} s"',
  ],
  validate(p) {
    const errs: ParamProblem[] = [];
    if (p.reboot_timeout < 1) errs.push(paramProblem('reboot_timeout', 'must be at least 1 second'));
    for (const k of ['pre_reboot_delay', 'post_reboot_delay'] as const) if (p[k] < 0) errs.push(paramProblem(k, 'must not be negative'));
    if (p.connect_timeout !== undefined && p.connect_timeout < 1) errs.push(paramProblem('connect_timeout', 'must be at least 1 second'));
    for (const k of ['test_command', 'boot_time_command', 'reboot_command'] as const) if (p[k] !== undefined && p[k]!.trim() === '') errs.push(paramProblem(k, 'must not be empty'));
    return errs;
  },
  read: async (ctx, p) => ({ bootId: await readBootId(ctx.host, ctx.hostName, p) }),
  diff: () => [{ path: 'reboot', message: 'would reboot', done: 'rebooted', action: true, disruptive: true }],
  async apply(ctx, p, _changes, state) {
    await pause(ctx, p.pre_reboot_delay);
    const started = Date.now();
    await launch(ctx, p);
    await pause(ctx, p.post_reboot_delay);
    await waitBack(ctx, p, state.bootId, started);
    const ms = Date.now() - started;
    return { data: { rebooted: true, elapsed: Math.round(ms / 1000) }, metrics: { elapsed_ms: ms } };
  },
};
