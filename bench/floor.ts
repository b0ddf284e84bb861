// The raw-SSH floor: the same read commands with no engine around them.
//   node dist/bench/floor.js --targets targets.json --commands commands.json --key K --known-hosts F
//        [--forks 50] [--mode ssh2|controlmaster]
// ssh2: one connection per host (own socket, noDelay), commands in sequence per host, up to
// --forks hosts at once. controlmaster: OpenSSH masters opened first (not timed), then every
// command as `ssh -S SOCKET`. Prints one JSON line with phase timings and counts.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import ssh2 from 'ssh2';
import { loadKnownHosts, type KnownHosts } from './sim/known-hosts.js';

export interface Target {
  name: string;
  address: string;
  port: number;
  user: string;
}

export interface FloorResult {
  mode: 'ssh2' | 'controlmaster';
  hosts: number;
  commands: number;
  execs: number;
  /** Commands that exited non-zero (the reads of a missing file, say: still a real round trip). */
  nonZero: number;
  /** Hosts that failed to connect or broke off, with the first few reasons. */
  failedHosts: number;
  errors: string[];
  connectMs: number;
  commandsMs: number;
  totalMs: number;
}

/** What the engine sends: commands run with the C locale (engine/connection/base-host.ts). */
const wrap = (c: string) => `LC_ALL=C; export LC_ALL; ${c}`;
const now = () => Number(process.hrtime.bigint()) / 1e6;

function connect(t: Target, key: Buffer, known: KnownHosts, timeoutMs: number): Promise<ssh2.Client> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: t.address, port: t.port, noDelay: true });
    const c = new ssh2.Client();
    const accepted = known.keysFor(t.address, t.port);
    c.once('ready', () => resolve(c));
    c.once('error', (e) => { sock.destroy(); reject(e); });
    c.connect({
      sock,
      username: t.user,
      privateKey: key,
      readyTimeout: timeoutMs,
      hostVerifier: (blob: Buffer) => accepted.some((k) => k.equals(blob)),
    });
  });
}

function exec(c: ssh2.Client, command: string): Promise<number | null> {
  return new Promise((resolve, reject) => {
    c.exec(command, (err, stream) => {
      if (err) return reject(err);
      let code: number | null = null;
      stream.on('exit', (c2: number | null) => { code = c2; });
      stream.on('data', () => {});
      stream.stderr.on('data', () => {});
      stream.on('close', () => resolve(code));
    });
  });
}

export async function floorSsh2(targets: Target[], commands: string[], keyPath: string, knownHostsPath: string, forks: number): Promise<FloorResult> {
  const key = readFileSync(keyPath);
  const known = loadKnownHosts(knownHostsPath);
  const limit = pLimit(forks);
  const r: FloorResult = { mode: 'ssh2', hosts: targets.length, commands: commands.length, execs: 0, nonZero: 0, failedHosts: 0, errors: [], connectMs: 0, commandsMs: 0, totalMs: 0 };
  let connectSum = 0;
  let commandSum = 0;
  const t0 = now();
  await Promise.all(
    targets.map((t) =>
      limit(async () => {
        const a = now();
        let c: ssh2.Client | undefined;
        try {
          c = await connect(t, key, known, 30000);
          const b = now();
          connectSum += b - a;
          for (const cmd of commands) {
            const code = await exec(c, wrap(cmd));
            r.execs++;
            if (code !== 0) r.nonZero++;
          }
          commandSum += now() - b;
        } catch (e) {
          r.failedHosts++;
          if (r.errors.length < 5) r.errors.push(`${t.name}: ${(e as Error).message}`);
        } finally {
          c?.end();
        }
      }),
    ),
  );
  r.totalMs = now() - t0;
  // Per host averages: what one host's connection and its commands cost.
  r.connectMs = connectSum / Math.max(1, targets.length - r.failedHosts);
  r.commandsMs = commandSum / Math.max(1, targets.length - r.failedHosts);
  return r;
}

function run(argv: string[]): Promise<number | null> {
  return new Promise((resolve) => {
    const p = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr.resume();
    p.on('error', () => resolve(null));
    p.on('close', (code) => resolve(code));
  });
}

export async function floorControlMaster(targets: Target[], commands: string[], keyPath: string, knownHostsPath: string, forks: number): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'play-floor-cm-'));
  const limit = pLimit(forks);
  const r: FloorResult = { mode: 'controlmaster', hosts: targets.length, commands: commands.length, execs: 0, nonZero: 0, failedHosts: 0, errors: [], connectMs: 0, commandsMs: 0, totalMs: 0 };
  const base = (t: Target, i: number) => [
    'ssh', '-F', '/dev/null', '-i', keyPath, '-p', String(t.port), '-l', t.user,
    '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${knownHostsPath}`,
    '-o', `ControlPath=${join(dir, String(i))}`,
  ];
  const ok = new Set<number>();
  try {
    const t0 = now();
    await Promise.all(targets.map((t, i) => limit(async () => {
      const code = await run([...base(t, i), '-o', 'ControlMaster=yes', '-o', 'ControlPersist=120', '-fN', t.address]);
      if (code === 0) ok.add(i); else { r.failedHosts++; if (r.errors.length < 5) r.errors.push(`${t.name}: master exited ${code}`); }
    })));
    const t1 = now();
    r.connectMs = t1 - t0;
    await Promise.all(targets.map((t, i) => limit(async () => {
      if (!ok.has(i)) return;
      for (const cmd of commands) {
        const code = await run([...base(t, i), '-o', 'ControlMaster=no', t.address, wrap(cmd)]);
        r.execs++;
        if (code !== 0) r.nonZero++;
      }
    })));
    r.commandsMs = now() - t1;
    r.totalMs = now() - t0;
  } finally {
    await Promise.all(targets.map((t, i) => limit(() => (ok.has(i) ? run([...base(t, i), '-O', 'exit', t.address]) : Promise.resolve(0)))));
    rmSync(dir, { recursive: true, force: true });
  }
  return r;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      targets: { type: 'string' },
      commands: { type: 'string' },
      key: { type: 'string' },
      'known-hosts': { type: 'string' },
      forks: { type: 'string', default: '50' },
      mode: { type: 'string', default: 'ssh2' },
    },
  });
  for (const k of ['targets', 'commands', 'key', 'known-hosts'] as const) if (!values[k]) throw new Error(`--${k} is required`);
  const targets = JSON.parse(readFileSync(values.targets!, 'utf8')) as Target[];
  const commands = JSON.parse(readFileSync(values.commands!, 'utf8')) as string[];
  const forks = Number(values.forks);
  if (!(forks >= 1)) throw new Error('--forks must be at least 1');
  const f = values.mode === 'controlmaster' ? floorControlMaster : values.mode === 'ssh2' ? floorSsh2 : undefined;
  if (!f) throw new Error("--mode must be 'ssh2' or 'controlmaster'");
  const r = await f(targets, commands, values.key!, values['known-hosts']!, forks);
  process.stdout.write(JSON.stringify(r) + '\n');
  if (r.failedHosts > 0) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((e: Error) => {
    process.stderr.write(`floor: ${e.message}\n`);
    process.exitCode = 1;
  });
}
