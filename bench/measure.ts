// Runs a command and measures it: wall time (hrtime), CPU of the child and every descendant it
// waited for (GNU time's user+sys), and peak RSS of the whole process tree (sampled from /proc,
// and GNU time's max RSS of the largest single process, whichever is higher).
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Sample {
  wallMs: number;
  cpuMs: number;
  userMs: number;
  sysMs: number;
  peakRssKb: number;
  code: number | null;
  timedOut: boolean;
  /** Last bytes of the output, for error messages and result parsing. */
  stdout: string;
  stderr: string;
}

export interface Measurement {
  runs: number;
  /** Medians over the runs. */
  wallMs: number;
  cpuMs: number;
  peakRssKb: number;
  samples: Sample[];
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Exit codes that count as success (play check exits 2 when changes are pending, say). */
  okCodes?: number[];
  /** How many bytes of stdout to keep (default 64 KiB, from the end). */
  keepBytes?: number;
  /** Runs before every measured run, untimed (e.g. put the hosts back to their starting state). */
  before?: () => Promise<void>;
}

export const TIME_BIN = '/usr/bin/time';
const PAGE_KB = 4;

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** parent pid → its children, for every process (this kernel has no /proc/PID/task/TID/children). */
function childrenMap(): Map<number, number[]> {
  const kids = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (name.charCodeAt(0) > 57) continue; // not a pid
    let stat: string;
    try { stat = readFileSync(`/proc/${name}/stat`, 'latin1'); } catch { continue; }
    // Field 4 (ppid) follows the command name in parentheses, which may contain spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ', 2)[1]);
    const list = kids.get(ppid);
    if (list) list.push(Number(name)); else kids.set(ppid, [Number(name)]);
  }
  return kids;
}

/** Resident KiB of the process tree under pid. */
export function treeRssKb(root: number): number {
  const kids = childrenMap();
  let total = 0;
  const queue = [root];
  for (let seen = 0; queue.length > 0 && seen < 10000; seen++) {
    const pid = queue.shift()!;
    try { total += Number(readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ')[1]) * PAGE_KB; } catch { continue; }
    queue.push(...(kids.get(pid) ?? []));
  }
  return total;
}

/** GNU time -f '%e %U %S %M' → user, sys (ms), max RSS (KiB). */
export function parseTimeOutput(text: string): { userMs: number; sysMs: number; maxRssKb: number } | undefined {
  const line = text.trim().split('\n').pop() ?? '';
  const m = /^([\d.]+) ([\d.]+) ([\d.]+) (\d+)$/.exec(line);
  if (!m) return undefined;
  return { userMs: Math.round(Number(m[2]) * 1000), sysMs: Math.round(Number(m[3]) * 1000), maxRssKb: Number(m[4]) };
}

export function measureOnce(argv: string[], opts: RunOptions = {}): Promise<Sample> {
  if (!existsSync(TIME_BIN)) throw new Error(`${TIME_BIN} is missing: apt-get install -y time`);
  const dir = mkdtempSync(join(tmpdir(), 'play-measure-'));
  const timeFile = join(dir, 'time');
  const keep = opts.keepBytes ?? 65536;
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    // detached: its own process group, so a timeout can stop the whole tree it started.
    const child = spawn(TIME_BIN, ['-f', '%e %U %S %M', '-o', timeFile, '--', ...argv], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    const tail = (s: string, add: string) => (s + add).slice(-keep);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout = tail(stdout, d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr = tail(stderr, d)));
    let peak = 0;
    // 100 ms: often enough for runs of a second or more, cheap enough not to steal a core.
    const sampler = setInterval(() => { peak = Math.max(peak, treeRssKb(child.pid!)); }, 100);
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => { timedOut = true; try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, opts.timeoutMs)
      : undefined;
    child.on('error', (e) => { clearInterval(sampler); reject(e); });
    child.on('close', (code) => {
      const wallMs = Number(process.hrtime.bigint() - start) / 1e6;
      clearInterval(sampler);
      if (timer) clearTimeout(timer);
      let t: ReturnType<typeof parseTimeOutput>;
      try { t = parseTimeOutput(readFileSync(timeFile, 'utf8')); } catch { t = undefined; }
      rmSync(dir, { recursive: true, force: true });
      const userMs = t?.userMs ?? NaN;
      const sysMs = t?.sysMs ?? NaN;
      resolve({ wallMs, userMs, sysMs, cpuMs: userMs + sysMs, peakRssKb: Math.max(peak, t?.maxRssKb ?? 0), code, timedOut, stdout, stderr });
    });
  });
}

export class CommandError extends Error {}

/** Runs argv `runs` times in sequence; throws CommandError on a failed run (with its stderr). */
export async function measure(argv: string[], runs: number, opts: RunOptions = {}): Promise<Measurement> {
  const okCodes = opts.okCodes ?? [0];
  const samples: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    if (opts.before) await opts.before();
    const s = await measureOnce(argv, opts);
    if (s.timedOut) throw new CommandError(`timed out after ${opts.timeoutMs} ms: ${argv.join(' ')}`);
    if (s.code === null || !okCodes.includes(s.code)) {
      // The first line that names an error says more than a stack's tail.
      const lines = (s.stderr.trim() || s.stdout.trim()).split('\n');
      const why = lines.find((l) => /error/i.test(l)) ?? lines.slice(-3).join(' | ');
      throw new CommandError(`exit ${s.code}: ${why.slice(0, 300)}`);
    }
    samples.push(s);
  }
  return {
    runs,
    wallMs: median(samples.map((s) => s.wallMs)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    peakRssKb: median(samples.map((s) => s.peakRssKb)),
    samples,
  };
}
