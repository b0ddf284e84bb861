// reboot: the pure parts: the default reboot command, the detached launch and its output.
import { shQuote } from '../../engine/connection/quote.js';

export interface RebootParams {
  reboot_timeout: number;
  pre_reboot_delay: number;
  post_reboot_delay: number;
  connect_timeout?: number;
  test_command: string;
  msg: string;
  reboot_command?: string;
  boot_time_command: string;
}

/**
 * Debian's ways to reboot, best first: shutdown (on Debian 12 systemd's own, the same as
 * `systemctl reboot` plus `msg` as the wall message to logged-in users; sysvinit's elsewhere),
 * else `systemctl reboot` when systemd is PID 1 (/run/systemd/system exists exactly then), else
 * reboot. Never a forced reboot (-f skips the clean shutdown). A host whose init cannot be
 * reached makes the command fail, and the task fails with its message.
 */
export function defaultRebootCommand(msg: string): string {
  return [
    `if command -v shutdown >/dev/null; then shutdown -r now ${shQuote(msg)}`,
    'elif [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then systemctl reboot',
    'else reboot; fi',
  ].join('; ');
}

/** Seconds the launch waits for the reboot command to end (shutdown returns at once, systemctl may not). */
export const LAUNCH_WAIT_S = 5;
const RC_MARK = 'play-reboot-rc=';
const RUNNING_MARK = 'play-reboot-running';

/**
 * Runs `cmd` detached from the SSH session (its own session via setsid: neither the channel's
 * end nor sshd going down stops it), then reports its exit status if it ends within
 * LAUNCH_WAIT_S, else that it still runs (a reboot under way).
 */
export function launchScript(cmd: string): string {
  return [
    'out=$(mktemp /tmp/play-reboot.XXXXXX) || exit 1',
    `setsid -f sh -c 'sh -c "$1" </dev/null >"$2" 2>&1; echo "${RC_MARK}$?" >>"$2"' play-reboot ${shQuote(cmd)} "$out"`,
    'i=0',
    `while [ $i -lt ${LAUNCH_WAIT_S * 10} ]; do`,
    `  case $(tail -n 1 "$out") in ${RC_MARK}*) cat "$out"; rm -f "$out"; exit 0;; esac`,
    '  sleep 0.1; i=$((i+1))',
    'done',
    `echo ${RUNNING_MARK}`,
  ].join('\n');
}

export type Launch = { ended: true; code: number; output: string } | { ended: false };

/** What the launch script printed: the command's exit status and output, or that it still runs. */
export function parseLaunch(stdout: string): Launch | undefined {
  const lines = stdout.replace(/\n$/, '').split('\n');
  const last = lines[lines.length - 1] ?? '';
  if (last === RUNNING_MARK) return { ended: false };
  if (!last.startsWith(RC_MARK)) return undefined;
  const code = Number(last.slice(RC_MARK.length));
  if (!Number.isInteger(code)) return undefined;
  return { ended: true, code, output: lines.slice(0, -1).join('\n').trim() };
}

/** The boot id printed by boot_time_command: its output trimmed; empty means it told nothing. */
export function parseBootId(stdout: string): string | undefined {
  const id = stdout.trim();
  return id === '' ? undefined : id;
}

/** Seconds to wait before reconnection attempt `n` (1-based): 1, 2, 3 … at most 5. */
export function retryDelayS(n: number): number {
  return Math.min(5, Math.max(1, n));
}
