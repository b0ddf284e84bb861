// The marked-sections protocol: one shell script answers several questions in one round trip,
// each answer between `@@play NAME@@` and `@@play-rc N@@` lines. Fact gathering and the modules'
// probes use it; the engine nests probes of several tasks in one exec (batchScript).
import { randomBytes } from 'node:crypto';
import type { Host, RunOptions, RunResult } from './host.js';

/** One section of a marked script: a name and a command whose stdout+stderr and exit code are kept. */
export interface Section {
  name: string;
  cmd: string;
}

export interface SectionOutput {
  text: string;
  rc: number;
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** A POSIX sh script printing each section between `@@play NAME@@` and `@@play-rc N@@` lines. */
export function markedScript(sections: Section[]): string {
  return sections
    .map((s) => {
      if (!NAME_RE.test(s.name)) throw new Error(`bad section name ${JSON.stringify(s.name)}`);
      // The newline before the end marker is always added, so the section text comes back exact.
      return `echo '@@play ${s.name}@@'; { ${s.cmd}\n} 2>&1; printf '\\n@@play-rc %s@@\\n' "$?"`;
    })
    .join('\n');
}

/** Splits a marked script's output by section name. */
export function parseMarked(out: string): Record<string, SectionOutput> {
  const res: Record<string, SectionOutput> = {};
  const re = /^@@play ([A-Za-z0-9_.-]+)@@\n([\s\S]*?)\n@@play-rc (\d+)@@$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(out)) !== null) res[m[1]] = { text: m[2], rc: Number(m[3]) };
  return res;
}

/** What a probe's script printed: its stdout (stderr too when batched) and exit code. */
export interface ProbeOutput {
  stdout: string;
  stderr: string;
  code: number | null;
}

/**
 * A module's read as data: a read-only script and a pure parser of its output. The engine decides
 * how it travels: alone (readByProbe) or with the probes of other tasks in one exec (batchScript).
 */
export interface Probe<S> {
  script: string;
  parse(out: ProbeOutput): S;
  /** How long the script may take (pings); the batch waits for the longest. */
  timeoutMs?: number;
  /**
   * What it reads depends on other hosts too (pings to peers): another host's apply can change
   * it, so a real run reads it when the task is reached, never ahead.
   */
  peers?: boolean;
}

/** A probe run on its own: one exec. */
export async function readByProbe<S>(host: Host, probe: Probe<S>, opts: RunOptions = {}): Promise<S> {
  const r: RunResult = await host.run(probe.script, { ...(probe.timeoutMs ? { timeoutMs: probe.timeoutMs } : {}), ...opts });
  return probe.parse(r);
}

/**
 * Several probes as one script: each runs in its own subshell (an `exit` or a variable stays
 * inside) between outer markers carrying a random tag, so a probe's own `@@play` sections (or a
 * file it prints) can never end an outer section early. `gated`: the first n scripts are the steps
 * of an apply; once one of them exits non-zero nothing after it runs (its output is undefined).
 */
export function batchScript(scripts: string[], gated = 0): { script: string; split(stdout: string): Array<ProbeOutput | undefined> } {
  const tag = randomBytes(6).toString('hex');
  const script = gated
    ? ['play_step_failed=', ...scripts.map((s, i) => gatedSegment(tag, i, s, i < gated))].join('\n')
    : scripts.map((s, i) => batchSegment(tag, i, s)).join('\n');
  const split = (stdout: string) => {
    const res: Array<ProbeOutput | undefined> = scripts.map(() => undefined);
    const re = new RegExp(`^@@batch-${tag} (\\d+)@@\\n([\\s\\S]*?)\\n@@batch-${tag}-rc (\\d+)@@$`, 'gm');
    let m: RegExpExecArray | null;
    while ((m = re.exec(stdout)) !== null) res[Number(m[1])] = { stdout: m[2], stderr: '', code: Number(m[3]) };
    return res;
  };
  return { script, split };
}

const batchSegment = (tag: string, i: number, s: string) => `echo '@@batch-${tag} ${i}@@'; ( ${s}\n) 2>&1; printf '\\n@@batch-${tag}-rc %s@@\\n' "$?"`;

/** A segment that runs only while no apply step before it failed; a failing step stops the rest. */
const gatedSegment = (tag: string, i: number, s: string, step: boolean) =>
  `if [ -z "$play_step_failed" ]; then echo '@@batch-${tag} ${i}@@'; ( ${s}\n) 2>&1; r=$?; printf '\\n@@batch-${tag}-rc %s@@\\n' "$r"` +
  `${step ? '; [ "$r" = 0 ] || play_step_failed=1' : ''}; fi`;

/**
 * The probes of a batch script and how its output frames each one's (for the fleet simulator,
 * which answers each probe as a host would): undefined when `script` is not a batch.
 */
export function unbatch(script: string): { scripts: string[]; frame(i: number, text: string, rc: number): string } | undefined {
  const tag = /^echo '@@batch-([0-9a-f]+) 0@@'; \( /.exec(script)?.[1];
  if (!tag) return undefined;
  const scripts: string[] = [];
  for (let i = 0, at = 0; at < script.length; i++) {
    const head = `echo '@@batch-${tag} ${i}@@'; ( `;
    const tail = `\n) 2>&1; printf '\\n@@batch-${tag}-rc %s@@\\n' "$?"`;
    if (!script.startsWith(head, at)) return undefined;
    const end = script.indexOf(tail, at + head.length);
    if (end < 0) return undefined;
    scripts.push(script.slice(at + head.length, end));
    at = end + tail.length + 1; // the newline between segments
  }
  return { scripts, frame: (i, text, rc) => `@@batch-${tag} ${i}@@\n${text}\n@@batch-${tag}-rc ${rc}@@\n` };
}
