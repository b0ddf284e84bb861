// A remote command tied to its SSH channel: when the channel closes before the command ends
// (Ctrl-C, a lost connection, a client killed), the command's whole session is killed on the
// host. sshd does neither by itself: without a pty a closed channel only closes the command's
// pipes, and a `sleep 37` (or a migration) runs on, re-parented to init. sshd also refuses the
// SSH "signal" request for forced commands, and sudo in between would swallow it.
//
// How: the client keeps the channel's stdin open and never sends data on it. The command runs
// in a session of its own (setsid) with stdin from /dev/null; a watcher (a shell builtin loop,
// no extra process) reads the channel's stdin and, at its end, sends TERM to the command's
// process group, then KILL after TERM_GRACE_S. When the command ends first, the watcher is
// stopped and the command's exit status (or its signal, raised again) is the shell's.
import { shQuote } from './quote.js';

/** Seconds between the TERM and the KILL sent to a command whose channel closed. */
export const TERM_GRACE_S = 3;

/**
 * `simple` must be one simple command that setsid can exec (`sh -c '…'` or `timeout … sh -c '…'`):
 * it then leads the new process group, so one kill reaches everything it started.
 */
export function tiedToChannel(simple: string): string {
  return [
    'exec 3<&0 </dev/null',
    `setsid ${simple} 3<&- & c=$!`,
    // (A channel closed at once may beat setsid: wait for the group to exist before killing it.)
    `{ while read -r _; do :; done; while kill -0 $c && ! kill -0 -$c; do sleep 0.01; done; kill -TERM -$c; sleep ${TERM_GRACE_S}; kill -KILL -$c; } <&3 >/dev/null 2>&1 3<&- & w=$!`,
    'exec 3<&-',
    'wait $c; r=$?',
    'kill $w 2>/dev/null',
    // Killed by a signal: die of the same signal, so the exit status reads as it would untied
    // (KILL excepted: coreutils timeout's kill is reported as exit 137, as it was untied).
    'if [ $r -gt 128 ] && [ $r -lt 160 ] && [ $r -ne 137 ]; then trap - $((r-128)) 2>/dev/null; kill -$((r-128)) $$; fi',
    'exit $r',
  ].join('\n');
}

/** `sh -c CMD`, under coreutils timeout when the command has a time limit. */
export function simpleShell(cmd: string, timeoutMs?: number): string {
  const sh = `sh -c ${shQuote(cmd)}`;
  return timeoutMs !== undefined && timeoutMs > 0 ? `timeout -s KILL ${(timeoutMs / 1000).toFixed(3)} ${sh}` : sh;
}

const TIED = /^exec 3<&0 <\/dev\/null\nsetsid (?:timeout -s KILL \S+ )?sh -c ('(?:[^']|'\\'')*'|[A-Za-z0-9_/.,:=@%+-]+) 3<&- & c=\$!\n/;

/** The command inside a tiedToChannel wrapper (what the caller asked to run), else the input. */
export function untie(command: string): string {
  const m = TIED.exec(command);
  if (!m) return command;
  const q = m[1];
  return q.startsWith("'") ? q.slice(1, -1).replace(/'\\''/g, "'") : q;
}
