// The harness side of the simulator: start it as a child, wait for its "listening" line (not a
// sleep), ask for counters between runs, stop it and collect its own CPU/RSS.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { rootPath } from '../../engine/paths.js';
import type { SimStats } from './server.js';

export interface SimInfo {
  pid: number;
  host: string;
  ports: number[];
  knownHosts: string;
  clientKey: string;
}

export interface SimHandle {
  info: SimInfo;
  stats(): Promise<SimStats>;
  stop(): Promise<SimStats & { seconds: number }>;
}

export function startSim(args: { ports: number; basePort: number; latencyMs: number; workers: number; stateDir: string }): Promise<SimHandle> {
  const child: ChildProcess = spawn(
    process.execPath,
    [rootPath('dist/bench/fleet-sim.js'), '--ports', String(args.ports), '--base-port', String(args.basePort), '--latency-ms', String(args.latencyMs),
      '--workers', String(args.workers), '--state-dir', args.stateDir, '--parent-pid', String(process.pid)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const waiting: Array<{ event: string; resolve: (v: any) => void }> = [];
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    let ev: { event?: string };
    try { ev = JSON.parse(line); } catch { return; }
    const i = waiting.findIndex((w) => w.event === ev.event);
    if (i >= 0) waiting.splice(i, 1)[0].resolve(ev);
  });
  const next = <T>(event: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`fleet-sim: no '${event}' within ${timeoutMs} ms`)), timeoutMs);
      waiting.push({ event, resolve: (v) => { clearTimeout(t); resolve(v); } });
      child.once('exit', (code) => { clearTimeout(t); reject(new Error(`fleet-sim exited with ${code}`)); });
    });
  return next<SimInfo>('listening', 20000).then((info) => ({
    info,
    stats() {
      const p = next<SimStats>('stats', 5000);
      child.stdin!.write('stats\n');
      return p;
    },
    stop() {
      const p = next<SimStats & { seconds: number }>('exit', 5000);
      child.kill('SIGTERM');
      return p;
    },
  }));
}
