// The job watcher: ONE long-lived virsh session on the source asked for `domjobinfo --rawstats`
// every 500 ms (a virsh per poll would cost ~0.35 s of CPU each), its output streamed back and
// cut into samples at the marker lines.
import type { Host } from '../../engine/host.js';
import { shQuote } from '../../engine/quote.js';
import { parseJobInfo, type JobInfo } from './parse.js';
import { VIRSH_ECHO, VIRSH_MARK, virshSections } from './virsh.js';

export const POLL_MS = 500;

/** The remote script: a shell loop feeding virsh's interactive mode, bounded by `limitS`. */
export function watchScript(domain: string, limitS: number): string {
  const ask = `printf '%s\\n' ${shQuote(`domjobinfo --rawstats ${domain}`)} ${shQuote(VIRSH_ECHO)}`;
  // When play goes away the channel closes: virsh dies writing (SIGPIPE), then the loop does.
  return `timeout ${Math.ceil(limitS)} sh -c ${shQuote(`while :; do ${ask} || exit 0; sleep ${POLL_MS / 1000}; done`)} | virsh -q`;
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

/** Starts the watcher; resolves when it is stopped (or the limit ends it). */
export function startWatcher(src: Host, domain: string, limitS: number, onSample: (j: JobInfo) => void): { stop(): void; done: Promise<unknown> } {
  const ac = new AbortController();
  const done = src.run(watchScript(domain, limitS), { onStdout: sampleSplitter(onSample), signal: ac.signal, cLocale: true }).catch(() => undefined);
  return { stop: () => ac.abort(), done };
}
