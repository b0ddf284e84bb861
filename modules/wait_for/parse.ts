// Pure parts of wait_for: the one shell loop that waits on the host (so waiting costs one round
// trip, not one per poll) and the reading of its verdict.
import { shQuote } from '../../engine/connection/quote.js';

export interface WaitForParams {
  host: string;
  port?: number;
  path?: string;
  state: 'started' | 'stopped' | 'present' | 'absent';
  delay: number;
  timeout: number;
  sleep: number;
  msg?: string;
}

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0', '::']);

/** A shell test that succeeds when the condition of `started`/`present` holds. */
function probe(p: WaitForParams): string {
  if (p.path !== undefined) return `[ -e ${shQuote(p.path)} ]`;
  const port = String(p.port);
  // A local port: is something listening (ss, iproute2)? A remote one: does a connection open?
  if (LOCAL.has(p.host)) return `ss -Htln ${shQuote(`sport = :${port}`)} 2>/dev/null | grep -q .`;
  return `timeout 2 bash -c ${shQuote(`exec 3<>/dev/tcp/${p.host}/${port}`)} 2>/dev/null`;
}

/** Prints `ready after N s` or `timeout after N s`; exits 0 either way (the engine judges). */
export function waitScript(p: WaitForParams): string {
  const positive = p.state === 'started' || p.state === 'present';
  const test = positive ? probe(p) : `! { ${probe(p)}; }`;
  return [
    `start=$(date +%s); sleep ${p.delay}`,
    `while :; do`,
    `  if ${test}; then echo "ready after $(( $(date +%s) - start )) s"; exit 0; fi`,
    `  if [ $(( $(date +%s) - start )) -ge ${p.timeout} ]; then echo "timeout after $(( $(date +%s) - start )) s"; exit 0; fi`,
    `  sleep ${p.sleep}`,
    `done`,
  ].join('\n');
}

export interface WaitResult {
  ready: boolean;
  elapsed: number;
}

export function parseWait(stdout: string): WaitResult | undefined {
  const m = /^(ready|timeout) after (\d+) s$/m.exec(stdout);
  return m ? { ready: m[1] === 'ready', elapsed: Number(m[2]) } : undefined;
}

export function describeWait(p: WaitForParams): string {
  const what = p.path !== undefined ? `path ${p.path}` : `port ${p.port} on ${p.host}`;
  const verb = { started: 'to open', stopped: 'to close', present: 'to exist', absent: 'to be gone' }[p.state];
  return `${what} ${verb}`;
}
