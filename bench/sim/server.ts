// One simulator worker: ssh2 Servers on every port, public-key auth from one key, every exec
// answered from the profile after the configured latency. The username is the virtual host.
import { createPublicKey, verify as cryptoVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import type { Connection, ServerChannel, AuthContext } from 'ssh2';
import { answer, writeTarget, type CompiledProfile } from './profile.js';
import { signingWithKeyObject } from '../../engine/connection/ssh.js';

const { Server, utils } = ssh2;

export interface SimConfig {
  host: string;
  ports: number[];
  hostKeyPath: string;
  authorizedKeyPath: string;
  profile: CompiledProfile;
  latencyMs: number;
  jitterMs: number;
  /** Writes (the engine's writeFile script) change what later reads of that host return. */
  stateful: boolean;
}

export interface SimStats {
  connections: number;
  peakConcurrent: number;
  authFailures: number;
  execs: number;
  unknown: number;
  /** Unknown commands (first 200 chars) → count; at most MAX_UNKNOWN_KINDS entries. */
  unknownCommands: Record<string, number>;
  virtualHosts: number;
  errors: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxRssKb: number;
}

const MAX_UNKNOWN_KINDS = 50;

export interface SimWorker {
  stats(): SimStats;
  close(): Promise<void>;
}

export async function startWorker(cfg: SimConfig): Promise<SimWorker> {
  // Keys decoded once: ssh2 hands OpenSSL the PEM text for every signature and verification,
  // and OpenSSL 3 decodes it each time (~1–3 ms per connection on each side, more than the rest
  // of the handshake); the simulator must not be slower per connection than a real sshd.
  const parsedHostKey = utils.parseKey(readFileSync(cfg.hostKeyPath));
  if (parsedHostKey instanceof Error) throw parsedHostKey;
  const hostKey = signingWithKeyObject(Array.isArray(parsedHostKey) ? parsedHostKey[0] : parsedHostKey);
  const allowed = utils.parseKey(readFileSync(cfg.authorizedKeyPath));
  if (allowed instanceof Error) throw allowed;
  const allowedPub = allowed.getPublicSSH();
  const allowedKey = createPublicKey(allowed.getPublicPEM());
  const verifies = (ctx: AuthContext & { method: 'publickey' }): boolean => {
    try {
      return cryptoVerify(ctx.hashAlgo ?? null, ctx.blob!, allowedKey, ctx.signature!);
    } catch {
      return false;
    }
  };
  let active = 0;
  const st = { connections: 0, peakConcurrent: 0, authFailures: 0, execs: 0, unknown: 0, errors: 0 };
  const unknownCommands = new Map<string, number>();
  const users = new Set<string>();
  // Per virtual host written files (stateful mode only).
  const written = new Map<string, Map<string, string>>();

  const onAuth = (ctx: AuthContext): void => {
    if (ctx.method !== 'publickey') return ctx.reject(['publickey']);
    const sameKey = ctx.key.algo === allowed.type && ctx.key.data.equals(allowedPub);
    if (!sameKey) { st.authFailures++; return ctx.reject(['publickey']); }
    // Without a signature the client only asks whether this key would do.
    if (ctx.signature && !verifies(ctx)) { st.authFailures++; return ctx.reject(['publickey']); }
    users.add(ctx.username);
    ctx.accept();
  };

  const onExec = (user: string, command: string, stream: ServerChannel): void => {
    st.execs++;
    const target = writeTarget(command);
    const chunks: Buffer[] = [];
    stream.on('data', (b: Buffer) => { if (target !== undefined && cfg.stateful) chunks.push(b); });
    const reply = () => {
      const files = written.get(user);
      const r = answer(cfg.profile, command, files);
      if (!r.known) {
        st.unknown++;
        const k = command.slice(0, 200);
        if (unknownCommands.has(k) || unknownCommands.size < MAX_UNKNOWN_KINDS) unknownCommands.set(k, (unknownCommands.get(k) ?? 0) + 1);
      }
      if (target !== undefined && cfg.stateful && r.code === 0) {
        if (!files) written.set(user, new Map([[target, Buffer.concat(chunks).toString('utf8')]]));
        else files.set(target, Buffer.concat(chunks).toString('utf8'));
      }
      const delay = cfg.latencyMs + (r.latencyMs ?? 0) + (cfg.jitterMs > 0 ? Math.random() * cfg.jitterMs : 0);
      const send = () => {
        if (stream.destroyed) return;
        if (r.stdout) stream.write(r.stdout);
        if (r.stderr) stream.stderr.write(r.stderr);
        stream.exit(r.code);
        stream.end();
      };
      if (delay > 0) setTimeout(send, delay); else send();
    };
    // A write's content arrives on stdin: answer after its EOF. Reads are answered at once.
    if (target !== undefined) stream.once('end', reply); else reply();
  };

  const onConnection = (client: Connection): void => {
    st.connections++;
    active++;
    if (active > st.peakConcurrent) st.peakConcurrent = active;
    // Typed out of @types/ssh2, present in ssh2 1.16: without it every reply waits for a delayed ACK.
    (client as unknown as { setNoDelay(on: boolean): void }).setNoDelay(true);
    let user = '';
    client.on('authentication', (ctx) => { user = ctx.username; onAuth(ctx); });
    client.on('error', () => { st.errors++; });
    client.on('close', () => { active--; });
    client.on('ready', () => {
      client.on('session', (acceptSession) => {
        const session = acceptSession();
        session.on('env', (accept) => accept?.());
        session.on('pty', (accept) => accept?.());
        session.on('exec', (accept, _reject, info) => onExec(user, info.command, accept()));
        session.on('shell', (_accept, reject) => reject?.());
        session.on('subsystem', (_accept, reject) => reject?.());
      });
    });
  };

  const servers = await Promise.all(
    cfg.ports.map(
      (port) =>
        new Promise<InstanceType<typeof Server>>((resolve, reject) => {
          const srv = new Server({ hostKeys: [{ key: hostKey as never }], ident: 'play-fleet-sim' }, onConnection);
          srv.once('error', reject);
          // A deep backlog: hundreds of forks connect within the same millisecond.
          srv.listen(port, cfg.host, 4096, () => resolve(srv));
        }),
    ),
  );

  return {
    stats() {
      const ru = process.resourceUsage();
      return {
        ...st,
        unknownCommands: Object.fromEntries(unknownCommands),
        virtualHosts: users.size,
        cpuUserMs: Math.round(ru.userCPUTime / 1000),
        cpuSystemMs: Math.round(ru.systemCPUTime / 1000),
        maxRssKb: ru.maxRSS,
      };
    },
    close: () => Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => undefined),
  };
}

/** Sums the stats of several workers (CPU and RSS add up: they are separate processes). */
export function sumStats(all: SimStats[]): SimStats {
  const out: SimStats = { connections: 0, peakConcurrent: 0, authFailures: 0, execs: 0, unknown: 0, unknownCommands: {}, virtualHosts: 0, errors: 0, cpuUserMs: 0, cpuSystemMs: 0, maxRssKb: 0 };
  for (const s of all) {
    for (const k of ['connections', 'peakConcurrent', 'authFailures', 'execs', 'unknown', 'virtualHosts', 'errors', 'cpuUserMs', 'cpuSystemMs', 'maxRssKb'] as const) out[k] += s[k];
    for (const [c, n] of Object.entries(s.unknownCommands)) out.unknownCommands[c] = (out.unknownCommands[c] ?? 0) + n;
  }
  return out;
}
