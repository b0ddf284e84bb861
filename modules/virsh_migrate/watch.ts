// The job watcher: ONE long-lived virsh session on the source asked for `domjobinfo --rawstats`
// every 500 ms (a virsh per poll would cost ~0.35 s of CPU each), its output streamed back and
// cut into samples at the marker lines.
import type { Host } from '../../engine/connection/host.js';
import { shQuote } from '../../engine/connection/quote.js';
import { parseJobInfo, type JobInfo } from './parse.js';
import { VIRSH_ECHO, VIRSH_MARK, virshSections } from './virsh.js';

export const POLL_MS = 500;

/**
 * The remote script: a shell loop feeding virsh's interactive mode, bounded by `limitS`. It is
 * also the host-side backstop of a --p2p job, which outlives its virsh client: when the channel
 * closes (play killed, link lost: the tie sends TERM to the process group) or the time bound
 * ends, it runs `virsh domjobabort` itself. After a normal end there is no job left (refused,
 * harmless); libvirt refuses it in post-copy, which is what must happen then.
 */
export function watchScript(domain: string, limitS: number): string {
  // The domain travels as "$1" through both shells: never pasted into an inner shell's text.
  // (--foreground: timeout stays in the process group, so the TERM reaches the loop at once.)
  const ask = `printf '%s\\n' "domjobinfo --rawstats $1" ${shQuote(VIRSH_ECHO)}`;
  const loop = `while :; do ${ask} || exit 0; sleep ${POLL_MS / 1000}; done`;
  // Detached (setsid) so the KILL that follows the TERM cannot cut it; retried while libvirt
  // still shows a job (a busy job lock, a job just starting); stops once there is none.
  const retry = [
    'i=0',
    'while [ $i -lt 20 ] && ! virsh -q domjobabort "$1"; do',
    '  j=$(virsh -q domjobinfo "$1") || exit 0',
    '  printf %s "$j" | grep -q "^Job type: *None" && exit 0',
    '  i=$((i+1)); sleep 0.5',
    'done',
  ].join('\n');
  const abortFn = `abort() { setsid sh -c ${shQuote(retry)} _ "$1" </dev/null >/dev/null 2>&1 & }`;
  // In the background with `wait`: a shell waiting for a foreground pipeline runs its trap only
  // once the pipeline ends, which the KILL that follows the TERM may never let happen.
  // The shell's own stderr is /dev/null (the pipeline keeps the channel's, as fd 3): when play is
  // killed, sshd is gone and the channel's pipes with it, and dash reports the pipeline the TERM
  // killed ("Terminated") on stderr before it runs the trap; that write raised SIGPIPE and the
  // shell died of it without aborting (seen with strace in the lab: 3 of 8 SIGKILL runs).
  const outer = [
    'exec 3>&2 2>/dev/null',
    abortFn,
    `trap 'abort "$1"; exit 143' TERM HUP`,
    `timeout --foreground ${Math.ceil(limitS)} sh -c ${shQuote(loop)} _ "$1" 2>&3 3>&- | virsh -q 2>&3 3>&- &`,
    'exec 3>&-',
    'wait $!',
    'abort "$1"',
    'exit 0',
  ].join('\n');
  return `sh -c ${shQuote(outer)} _ ${shQuote(domain)}`;
}

/** Feeds chunks, calls `onSample` for every complete domjobinfo answer. */
export function sampleSplitter(onSample: (j: JobInfo) => void): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    const i = buf.lastIndexOf(VIRSH_MARK);
    if (i < 0) return;
    const parts = virshSections(buf.slice(0, i));
    buf = buf.slice(i + VIRSH_MARK.length);
    for (const text of parts) onSample(parseJobInfo(text));
  };
}

/** Starts the watcher; resolves when it is stopped (or the limit ends it); its failure goes to onError. */
export function startWatcher(src: Host, domain: string, limitS: number, onSample: (j: JobInfo) => void, onError: (e: unknown) => void): { stop(): void; done: Promise<unknown> } {
  const ac = new AbortController();
  const done = src.run(watchScript(domain, limitS), { onStdout: sampleSplitter(onSample), signal: ac.signal, cLocale: true }).catch((e: unknown) => {
    if (!ac.signal.aborted) onError(e);
  });
  return { stop: () => ac.abort(), done };
}
