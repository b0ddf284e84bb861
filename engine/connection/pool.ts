// One connection per host per run: connect once, share the pending connect between concurrent
// callers, and remember a failed connect (the host is unreachable for the rest of the run).
import { LocalHost } from './local.js';
import type { BaseHost } from './base-host.js';
import { connectionSpecFor, type Keepalive, type SpecEnv } from './spec.js';
import type { Client } from 'ssh2';
import { SshHost } from './ssh.js';

export interface PoolOptions {
  /** Called once per successful connection (tests and benchmarks count them). */
  onConnect?(host: string): void;
  /** Host-key notices (accept-new added a key, checking is off); default: stderr. */
  onWarning?(host: string, message: string): void;
  /** Exec channels open at once per connection. */
  maxChannels?: number;
  /** The run's keepalive default (--ssh-keepalive); inventory variables override it. */
  keepalive?: Keepalive;
  /** The run's interruption: connections still being made are given up. */
  signal?: AbortSignal;
  /** SSH handshakes under way at once (default MAX_HANDSHAKES); more wait their turn before their timeout starts. */
  maxHandshakes?: number;
  /** Overrides for home, ~/.ssh/config and the agent (tests). */
  env?: SpecEnv;
}

export interface ReconnectOptions {
  /** Give up one connection attempt after this long (default: the host's own connect timeout). */
  connectTimeoutMs?: number;
}

/**
 * A handshake is CPU on both ends (key exchange, signatures: ~3–5 ms for ssh2 here) and the
 * connect timeout runs while it is under way. With --forks 1000, a thousand handshakes at once
 * on a busy control machine each took as long as all of them, and hundreds of hosts that answered
 * were reported unreachable (timed out). This many at once keeps every handshake short; it still
 * lets ~300 connections a second through at a 50 ms round trip (8 round trips per handshake).
 */
export const MAX_HANDSHAKES = 128;

export class ConnectionPool {
  private handshaking = 0;
  private readonly handshakeQueue: Array<() => void> = [];
  private readonly hosts = new Map<string, Promise<BaseHost>>();
  /** One connection per bastion (hop chain), shared by every host behind it. */
  private readonly jumps = new Map<string, Promise<Client>>();
  private count = 0;

  constructor(private readonly opts: PoolOptions = {}) {}

  /** Successful connections made so far (SSH handshakes and local hosts). */
  get connectCount(): number {
    return this.count;
  }

  /**
   * The host's connection, made on first use. `vars` may be a function: the engine asks for the
   * connection at every task of every host, and the variables (rendered) are only needed once.
   */
  get(hostName: string, vars: Record<string, unknown> | (() => Record<string, unknown>)): Promise<BaseHost> {
    let p = this.hosts.get(hostName);
    if (!p) {
      p = this.open(hostName, typeof vars === 'function' ? vars() : vars);
      // Keep the rejected promise: an unreachable host fails fast for the rest of the run.
      p.catch(() => {});
      this.hosts.set(hostName, p);
    }
    return p;
  }

  /**
   * Drops the host's connection and opens a new one (a module that rebooted the host, or
   * restarted its sshd): later `get`s return the new one. A failed reconnect is remembered like
   * a failed connect (the host is unreachable for the rest of the run) until the next reconnect.
   * `connectTimeoutMs` replaces the host's own connect timeout for this one attempt.
   */
  reconnect(hostName: string, vars: Record<string, unknown>, opts: ReconnectOptions = {}): Promise<BaseHost> {
    const old = this.hosts.get(hostName);
    const p = (async () => {
      if (old) await old.then((h) => h.close(), () => undefined);
      return this.open(hostName, vars, opts.connectTimeoutMs);
    })();
    p.catch(() => {});
    this.hosts.set(hostName, p);
    return p;
  }

  private async open(hostName: string, vars: Record<string, unknown>, connectTimeoutMs?: number): Promise<BaseHost> {
    const found = connectionSpecFor(hostName, vars, this.opts.env);
    const spec = connectTimeoutMs === undefined || found.kind === 'local' ? found : { ...found, connectTimeoutMs };
    let host: BaseHost;
    if (spec.kind === 'local') {
      host = new LocalHost(hostName);
      host.become = { ...spec.become };
    } else {
      const warn = (m: string) => (this.opts.onWarning ? this.opts.onWarning(hostName, m) : process.stderr.write(`[WARNING]: ${m}\n`));
      await this.handshakeSlot();
      try {
        host = await SshHost.connect(spec, { maxChannels: this.opts.maxChannels, onWarning: warn, jumpCache: this.jumps, keepalive: this.opts.keepalive, signal: this.opts.signal });
      } finally {
        this.handshakeDone();
      }
    }
    this.count++;
    this.opts.onConnect?.(hostName);
    return host;
  }

  private handshakeSlot(): Promise<void> {
    if (this.handshaking < (this.opts.maxHandshakes ?? MAX_HANDSHAKES)) {
      this.handshaking++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.handshakeQueue.push(resolve));
  }

  private handshakeDone(): void {
    const next = this.handshakeQueue.shift();
    if (next) next(); // the slot passes straight to the next one waiting
    else this.handshaking--;
  }

  async closeAll(): Promise<void> {
    const all = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.all(all.map((p) => p.then((h) => h.close(), () => undefined)));
    // Innermost hops first: a later hop's connection runs through an earlier one.
    const jumps = [...this.jumps.values()].reverse();
    this.jumps.clear();
    for (const j of jumps) await j.then((c) => c.end(), () => undefined);
  }
}
