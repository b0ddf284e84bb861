// Fleet simulator: thousands of virtual SSH hosts on a few ports, built on ssh2's Server.
//   node dist/bench/fleet-sim.js --ports 4 --base-port 22000 --latency-ms 2 --profile bench/profiles/hypervisor.json
// Identity: the SSH username is the virtual host (gen-inventory gives host N the user `hN`);
// the port only spreads connections. One host key for every port, written to a known_hosts file
// as `[127.0.0.1]:PORT`, so clients keep strict host-key checking on.
// Prints one JSON line {"event":"listening",…} when ready and {"event":"exit",…} (its own CPU,
// RSS and counters) when it stops: on SIGTERM/SIGINT, when its parent dies, or after --max-seconds.
import cluster from 'node:cluster';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { rootPath } from '../engine/paths.js';
import { ensureKey, writeKnownHosts } from './sim/keys.js';
import { loadProfile } from './sim/profile.js';
import { startWorker, sumStats, type SimConfig, type SimStats, type SimWorker } from './sim/server.js';

interface Options {
  host: string;
  ports: number[];
  stateDir: string;
  profilePath: string;
  authorizedKey: string;
  latencyMs: number;
  jitterMs: number;
  workers: number;
  stateful: boolean;
  maxSeconds: number;
  parentPid: number;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      host: { type: 'string', default: '127.0.0.1' },
      ports: { type: 'string', default: '4' },
      'base-port': { type: 'string', default: '22000' },
      'latency-ms': { type: 'string', default: '2' },
      'jitter-ms': { type: 'string', default: '0' },
      profile: { type: 'string', default: rootPath('bench/profiles/hypervisor.json') },
      'state-dir': { type: 'string', default: join(tmpdir(), 'play-fleet-sim') },
      'authorized-key': { type: 'string' },
      workers: { type: 'string', default: '1' },
      stateful: { type: 'boolean', default: false },
      'max-seconds': { type: 'string', default: '3600' },
      'parent-pid': { type: 'string', default: String(process.ppid) },
    },
    strict: true,
  });
  const num = (name: string, v: string | undefined, min: number, max: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min || n > max) throw new Error(`--${name} must be a number from ${min} to ${max}, got '${v}'`);
    return n;
  };
  const count = num('ports', values.ports, 1, 256);
  const base = num('base-port', values['base-port'], 1024, 65535 - count);
  const stateDir = resolve(values['state-dir']!);
  const workers = num('workers', values.workers, 1, 64);
  if (values.stateful && workers > 1) throw new Error('--stateful needs --workers 1 (each worker keeps its own host state)');
  return {
    host: values.host!,
    ports: Array.from({ length: count }, (_, i) => base + i),
    stateDir,
    profilePath: resolve(values.profile!),
    authorizedKey: values['authorized-key'] ? resolve(values['authorized-key']) : '',
    latencyMs: num('latency-ms', values['latency-ms'], 0, 60000),
    jitterMs: num('jitter-ms', values['jitter-ms'], 0, 60000),
    workers,
    stateful: values.stateful!,
    maxSeconds: num('max-seconds', values['max-seconds'], 1, 7 * 86400),
    parentPid: num('parent-pid', values['parent-pid'], 1, 2 ** 31),
  };
}

// The reader may be gone (parent died): the exit line is then lost, not a crash.
process.stdout.on('error', () => {});

function emit(event: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(event) + '\n');
}

function workerConfig(o: Options): SimConfig {
  return {
    host: o.host,
    ports: o.ports,
    hostKeyPath: join(o.stateDir, 'host_ed25519'),
    authorizedKeyPath: o.authorizedKey || join(o.stateDir, 'client_ed25519.pub'),
    profile: loadProfile(o.profilePath),
    latencyMs: o.latencyMs,
    jitterMs: o.jitterMs,
    stateful: o.stateful,
  };
}

/** Cluster worker: serves, answers stats requests, dies with the primary. */
async function runClusterWorker(): Promise<void> {
  const o = JSON.parse(process.env.PLAY_FLEET_SIM_OPTIONS!) as Options;
  const w = await startWorker(workerConfig(o));
  process.on('message', (m: { type?: string }) => {
    if (m?.type === 'stats') process.send!({ type: 'stats', stats: w.stats() });
  });
  process.on('disconnect', () => process.exit(0));
  process.send!({ type: 'listening' });
}

/** Stats of every worker: in-process, or asked over IPC (bounded wait). */
async function collect(local: SimWorker | undefined): Promise<SimStats[]> {
  if (local) return [local.stats()];
  const workers = Object.values(cluster.workers ?? {}).filter((w) => w !== undefined && w.isConnected());
  return Promise.all(
    workers.map(
      (w) =>
        new Promise<SimStats | undefined>((res) => {
          const t = setTimeout(() => res(undefined), 2000);
          const on = (m: { type?: string; stats?: SimStats }) => {
            if (m?.type !== 'stats') return;
            clearTimeout(t);
            w!.off('message', on);
            res(m.stats);
          };
          w!.on('message', on);
          w!.send({ type: 'stats' });
        }),
    ),
  ).then((all) => all.filter((s): s is SimStats => s !== undefined));
}

async function runPrimary(): Promise<void> {
  const o = options();
  mkdirSync(o.stateDir, { recursive: true, mode: 0o700 });
  const hostPub = ensureKey(join(o.stateDir, 'host_ed25519'), 'play-fleet-sim host key');
  if (!o.authorizedKey) ensureKey(join(o.stateDir, 'client_ed25519'), 'play-fleet-sim client key');
  const knownHosts = join(o.stateDir, 'known_hosts');
  writeKnownHosts(knownHosts, o.host, o.ports, hostPub);

  let local: SimWorker | undefined;
  if (o.workers === 1) {
    local = await startWorker(workerConfig(o));
  } else {
    cluster.setupPrimary({ silent: false });
    const env = { PLAY_FLEET_SIM_OPTIONS: JSON.stringify(o) };
    await Promise.all(
      Array.from({ length: o.workers }, () => {
        const w = cluster.fork(env);
        return new Promise<void>((res, rej) => {
          w.once('message', (m: { type?: string }) => (m?.type === 'listening' ? res() : rej(new Error('worker did not start'))));
          w.once('exit', (code) => rej(new Error(`simulator worker exited with ${code} before listening`)));
        });
      }),
    );
  }
  const started = Date.now();
  emit({
    event: 'listening',
    pid: process.pid,
    host: o.host,
    ports: o.ports,
    workers: o.workers,
    knownHosts,
    clientKey: o.authorizedKey ? undefined : join(o.stateDir, 'client_ed25519'),
    profile: o.profilePath,
    latencyMs: o.latencyMs,
  });

  let stopping = false;
  const stop = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    clearInterval(watch);
    const all = await collect(local);
    const primary = process.resourceUsage();
    const total = sumStats(all);
    if (!local) {
      // The primary's own small share, on top of the workers'.
      total.cpuUserMs += Math.round(primary.userCPUTime / 1000);
      total.cpuSystemMs += Math.round(primary.systemCPUTime / 1000);
      total.maxRssKb += primary.maxRSS;
    }
    emit({ event: 'exit', reason, seconds: (Date.now() - started) / 1000, ...total });
    if (local) await Promise.race([local.close(), new Promise((r) => setTimeout(r, 500))]);
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exitCode = 0;
    // Open client connections would keep the loop alive; the stats are out, so leave now.
    setTimeout(() => process.exit(0), 100).unref();
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  // Poll for parent death and the time limit (bounded lifetime whatever happens).
  const origPpid = process.ppid;
  const watch = setInterval(() => {
    let parentAlive = true;
    try { process.kill(o.parentPid, 0); } catch { parentAlive = false; }
    if (!parentAlive || process.ppid !== origPpid) void stop('parent exited');
    else if (Date.now() - started > o.maxSeconds * 1000) void stop('max-seconds');
  }, 500);
  // A request on stdin `stats\n` prints the counters without stopping (handy between runs).
  process.stdin.setEncoding('utf8');
  process.stdin.on('data', (d: string) => {
    if (d.includes('stats')) void collect(local).then((all) => emit({ event: 'stats', ...sumStats(all) }));
  });
  process.stdin.on('error', () => {});
}

if (cluster.isPrimary) {
  runPrimary().catch((e: Error) => {
    process.stderr.write(`fleet-sim: ${e.message}\n`);
    process.exitCode = 1;
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
  });
} else {
  runClusterWorker().catch((e: Error) => {
    process.stderr.write(`fleet-sim worker: ${e.message}\n`);
    process.exit(1);
  });
}
