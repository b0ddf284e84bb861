// SshHost: the Host contract over ONE ssh2 connection per host; every command is an exec
// channel on it (at most maxChannels open at once), with ProxyJump, agent and key auth.
import { createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type AnyAuthMethod, type ClientChannel, type ConnectConfig } from 'ssh2';
import { ConnectionError, HostKeyError, TimeoutError } from '../errors.js';
import { BaseHost, interrupted, type ExecControl, type RawResult } from './base-host.js';
import { checkHostKey, knownKeyTypes } from './known-hosts.js';
import { DEFAULT_KEEPALIVE, type ConnectionSpec, type Keepalive, type SshEndpoint } from './spec.js';

// ssh2 is CommonJS: its named exports are only reachable through the default import.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface SshHostOptions {
  /** Channels open at once on the connection; more wait (sshd's MaxSessions is 10 by default). */
  maxChannels?: number;
  onWarning?(message: string): void;
  /**
   * Jump connections shared by every host behind the same bastion (keyed by the hop chain):
   * 5,000 hosts behind one bastion are 5,000 forwarded channels on one connection, not 5,000
   * sessions held open on the bastion. The owner (the pool) ends them after the run.
   */
  jumpCache?: Map<string, Promise<Client>>;
  /** The run's keepalive (--ssh-keepalive); a host's own variables override it. */
  keepalive?: Keepalive;
  /** The run's interruption: a connection still being made is given up at once. */
  signal?: AbortSignal;
}

// What ssh2 calls the algorithms that can verify each known_hosts key type.
const HOST_KEY_ALGOS: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

interface Waiter {
  resolve(): void;
}

function describe(ep: SshEndpoint): string {
  return `${ep.user}@${ep.host}:${ep.port}`;
}

type ParsedKey = Exclude<ReturnType<typeof utils.parseKey>, Error>;

// A fleet shares one key file: read and parse it once per run, not once per host (parsing an
// ed25519 key costs ~0.5 ms of crypto; ssh2 takes the parsed key as is). Keyed by the file's
// identity so a key rewritten in place is read again.
const parsedKeys = new Map<string, { sig: string; key: ParsedKey }>();

/** Loads the key files; unreadable or passphrase-protected keys become one clear error. */
function loadKeys(hostName: string, ep: SshEndpoint): Array<{ path: string; key: ParsedKey }> {
  return ep.keyFiles.map((path) => {
    let data: Buffer;
    let sig: string;
    try {
      const st = statSync(path);
      sig = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
      const hit = parsedKeys.get(path);
      if (hit?.sig === sig) return { path, key: hit.key };
      data = readFileSync(path);
    } catch (e) {
      throw new ConnectionError(hostName, `${hostName}: cannot read private key ${path} for ${describe(ep)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const parsed = utils.parseKey(data);
    if (parsed instanceof Error) {
      const why = /passphrase/i.test(parsed.message) ? 'it is protected by a passphrase (load it into ssh-agent instead)' : parsed.message;
      throw new ConnectionError(hostName, `${hostName}: cannot use private key ${path} for ${describe(ep)}: ${why}`);
    }
    const key = signingWithKeyObject(parsed);
    parsedKeys.set(path, { sig, key });
    return { path, key };
  });
}

/**
 * ssh2 signs with the key's PEM text, which OpenSSL 3 decodes again for every signature: ~1–3 ms
 * of CPU per connection for an ed25519 key (one signature per handshake), 20× the signature
 * itself. Sign with a KeyObject decoded once instead; same algorithm choice as ssh2's own sign
 * (the hash asked for, else the key type's default). A key ssh2 lays out differently is left as is.
 */
export function signingWithKeyObject(key: ParsedKey): ParsedKey {
  const pem = key.getPrivatePEM();
  const hashSym = Object.getOwnPropertySymbols(key).find((s) => s.description === 'Hash Algorithm');
  if (!pem || !hashSym) return key;
  let ko: KeyObject;
  try {
    ko = createPrivateKey(pem);
  } catch {
    return key;
  }
  const defaultAlgo = (key as unknown as Record<symbol, string | null>)[hashSym];
  const sign = (data: Buffer, algo?: string): Buffer | Error => {
    try {
      return cryptoSign(algo && typeof algo === 'string' ? algo : defaultAlgo, data, ko);
    } catch (e) {
      return e as Error;
    }
  };
  return Object.assign(key, { sign });
}

function socketReason(e: NodeJS.ErrnoException, ep: SshEndpoint): string {
  const at = `${ep.host}:${ep.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${at} (no sshd listening?)`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot resolve host name ${ep.host}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to ${at}`;
    case 'ECONNRESET':
      return `connection to ${at} was reset during the SSH handshake`;
    default:
      return `cannot connect to ${at}: ${e.message}`;
  }
}

export class SshHost extends BaseHost {
  private open = 0;
  private readonly waiting: Waiter[] = [];
  private closed = false;
  private lostReason?: string;
  /** The connection is gone (closed by us, lost, or ended by a failed keepalive). */
  private ended = false;
  private readonly maxChannels: number;
  /** A closed channel does not stop a command on the host: tie every command to its channel. */
  protected override readonly tieCommands = true;

  private constructor(
    name: string,
    private readonly client: Client,
    private readonly jumps: Client[],
    private readonly where: string,
    opts: SshHostOptions,
    ka: Keepalive,
  ) {
    super(name);
    this.maxChannels = opts.maxChannels ?? 8;
    client.on('close', () => {
      this.ended = true;
      if (!this.closed) this.lostReason ??= `SSH connection to ${name} (${where}) was lost`;
    });
    client.on('error', (e: Error) => {
      this.lostReason =
        e.message === 'Keepalive timeout'
          ? `${name} (${where}) stopped answering: no reply to SSH keepalives for ${ka.intervalS * ka.countMax} s (play_ssh_keepalive_interval × play_ssh_keepalive_count_max, or --ssh-keepalive)`
          : `SSH connection to ${name} (${where}) failed: ${e.message}`;
    });
  }

  /** Connects (through the jump hosts first), authenticates and verifies the host key. */
  static async connect(spec: ConnectionSpec, opts: SshHostOptions = {}): Promise<SshHost> {
    const jumps: Client[] = []; // owned by this host (no shared cache): ended with it
    try {
      let via: Client | undefined;
      let chain = '';
      for (const hop of spec.jumps) {
        chain += `>${describe(hop)}`;
        const label = `jump host ${describe(hop)} for ${spec.hostName}`;
        const through = via;
        if (opts.jumpCache) {
          let shared = opts.jumpCache.get(chain);
          if (!shared) {
            shared = connectOne(spec, hop, through, opts, label);
            shared.catch(() => undefined);
            opts.jumpCache.set(chain, shared);
          }
          via = await shared;
        } else {
          via = await connectOne(spec, hop, through, opts, label);
          jumps.push(via);
        }
      }
      const client = await connectOne(spec, spec.target, via, opts, spec.hostName);
      const host = new SshHost(spec.hostName, client, jumps, `${spec.target.host}:${spec.target.port}`, opts, effectiveKeepalive(spec, opts));
      host.become = { ...spec.become };
      return host;
    } catch (e) {
      for (const j of jumps) j.end();
      throw e;
    }
  }

  private async acquire(): Promise<void> {
    if (this.open < this.maxChannels) {
      this.open++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push({ resolve }));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next.resolve(); // the slot passes straight to the next waiter
    else this.open--;
  }

  private openChannel(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, ctl: ExecControl): Promise<RawResult> {
    return new Promise((resolve, reject) => {
      const refused = (e: Error) =>
        // The server refused another session (its MaxSessions is lower than our limit).
        reject(new ConnectionError(this.name, `${this.name}: cannot open an SSH channel: ${e.message}${this.lostReason ? ` (${this.lostReason})` : ''}`));
      try {
        // Listen in the callback itself, not a microtask later: under load the exit status
        // can arrive in the same read as the channel's opening, and its event would be lost.
        this.client.exec(command, (err, stream) => (err ? refused(err) : this.collect(stream, command, stdin, timeoutMs, ctl).then(resolve, reject)));
      } catch (e) {
        refused(e as Error);
      }
    });
  }

  protected async execRaw(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, ctl: ExecControl = {}): Promise<RawResult> {
    if (this.closed || this.lostReason) throw new ConnectionError(this.name, this.lostReason ?? `${this.name}: the SSH connection is closed`);
    await this.acquire();
    try {
      if (ctl.signal?.aborted) throw interrupted(this.name, ctl.signal);
      return await this.openChannel(command, stdin, timeoutMs, ctl);
    } finally {
      this.release();
    }
  }

  private collect(stream: ClientChannel, command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, ctl: ExecControl): Promise<RawResult> {
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let code: number | null = null;
      let signal: string | null = null;
      let done = false;
      // Stop waiting now; the host ends the command once it sees the channel close (tie.ts).
      const giveUp = (e: Error) => {
        done = true;
        if (timer) clearTimeout(timer);
        ctl.signal?.removeEventListener('abort', onAbort);
        stream.close();
        reject(e);
      };
      const onAbort = () => giveUp(interrupted(this.name, ctl.signal!));
      const timer = timeoutMs
        ? setTimeout(() => {
            const cmd = command.length > 200 ? `${command.slice(0, 200)}...` : command;
            giveUp(new TimeoutError(`command timed out after ${timeoutMs / 1000} s on ${this.name}: ${cmd}`));
          }, timeoutMs)
        : undefined;
      ctl.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (b: Buffer) => {
        out.push(b);
        ctl.onStdout?.(b);
      });
      stream.stderr.on('data', (b: Buffer) => err.push(b));
      stream.on('exit', (c: number | null, sig?: string) => {
        code = c ?? null;
        signal = sig ? (sig.startsWith('SIG') ? sig : `SIG${sig}`) : null;
      });
      stream.on('close', () => {
        if (timer) clearTimeout(timer);
        ctl.signal?.removeEventListener('abort', onAbort);
        if (done) return;
        done = true;
        if (code === null && signal === null && this.lostReason) return reject(new ConnectionError(this.name, this.lostReason));
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), code, signal });
      });
      // A tied command reads its channel's stdin to learn that the channel closed: no EOF then.
      // Any other gets EOF after its input: `cat > file` and friends wait for it.
      if (!ctl.keepStdinOpen) stream.end(stdin ?? undefined);
      else if (stdin?.length) stream.write(stdin);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.ended) {
      const done = new Promise<void>((r) => this.client.once('close', () => r()));
      this.client.end();
      // end() has sent the disconnect; sshd's close can lag by up to a second, and waiting
      // for it would add that second to every run. Give it a moment, then drop the socket.
      // The timer stays referenced: with a lost connection no 'close' comes again, and an
      // unreferenced timer let the event loop drain and the run end silently with exit 0.
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 50)))]);
      clearTimeout(timer);
    }
    this.client.destroy();
    for (const j of this.jumps.reverse()) j.end();
  }
}

/** The whole SSH handshake may take this many connect timeouts (each wait for the server one at most). */
export const HANDSHAKE_CAP = 6;

/** One SSH connection, over a fresh TCP socket or a channel forwarded by `via`. */
async function connectOne(spec: ConnectionSpec, ep: SshEndpoint, via: Client | undefined, opts: SshHostOptions, label: string): Promise<Client> {
  const hostName = spec.hostName;
  const keys = loadKeys(hostName, ep);
  const tried: string[] = [];
  let hostKeyError: HostKeyError | undefined;
  // The connect timeout is for a host that does not answer, not for our own CPU: hundreds of
  // handshakes at once on a busy control machine each take as long as all of them (a 10 s limit on
  // the whole handshake made a third of 1,000 simulated hosts "unreachable" under load, while
  // every one of them answered each step at once). Like OpenSSH's ConnectTimeout it counts silence:
  // the TCP connect, then each wait for the server's next bytes; the whole handshake gets a
  // generous cap (HANDSHAKE_CAP × the timeout) against a server that trickles.
  const deadline = Date.now() + spec.connectTimeoutMs * HANDSHAKE_CAP;
  const where = `${label === hostName ? '' : `${label}, `}${ep.host}:${ep.port}`;
  const timeoutMsg = () => `timed out after ${spec.connectTimeoutMs / 1000} s connecting to ${where}`;

  let sock: Socket | Duplex;
  if (via) {
    sock = await new Promise<Duplex>((resolve, reject) => {
      via.forwardOut('127.0.0.1', 0, ep.host, ep.port, (err, stream) =>
        err ? reject(new ConnectionError(hostName, `${hostName}: the jump host could not reach ${ep.host}:${ep.port}: ${err.message}`)) : resolve(stream),
      );
    });
  } else {
    sock = await new Promise<Socket>((resolve, reject) => {
      // Our own socket with Nagle off: ssh2's default costs ~40 ms per exec round trip.
      const s = netConnect({ host: ep.host, port: ep.port, noDelay: true });
      const giveUp = (e: Error) => {
        clearTimeout(t);
        off();
        s.destroy();
        reject(e);
      };
      const t = setTimeout(() => giveUp(new ConnectionError(hostName, `${hostName}: ${timeoutMsg()}`)), spec.connectTimeoutMs);
      const off = onAbort(opts.signal, () => giveUp(interrupted(hostName, opts.signal!)));
      s.once('connect', () => (clearTimeout(t), off(), resolve(s)));
      s.once('error', (e: NodeJS.ErrnoException) => giveUp(new ConnectionError(hostName, `${hostName}: ${socketReason(e, ep)}`)));
    });
  }

  const check = { hostName, host: ep.host, port: ep.port, files: spec.knownHostsFiles, checking: spec.hostKeyChecking };
  const known = spec.hostKeyChecking === 'off' ? [] : knownKeyTypes(check).flatMap((t) => HOST_KEY_ALGOS[t] ?? []);

  const methods: AnyAuthMethod[] = keys.map((k) => ({ type: 'publickey', username: ep.user, key: k.key }));
  const labels = keys.map((k) => `publickey ${k.path}`);
  if (spec.agent) {
    methods.push({ type: 'agent', username: ep.user, agent: spec.agent });
    labels.push(`agent ${spec.agent}`);
  }
  if (spec.password !== undefined && ep === spec.target) {
    methods.push({ type: 'password', username: ep.user, password: spec.password });
    labels.push('password');
  }
  let next = 0;

  const client = new Client();
  const config: ConnectConfig = {
    sock: sock as ConnectConfig['sock'],
    username: ep.user,
    readyTimeout: Math.max(1, deadline - Date.now()),
    ...keepaliveConfig(effectiveKeepalive(spec, opts)),
    // Ask first for the key types we already know, so a host with several keys offers one we can check.
    ...(known.length ? { algorithms: { serverHostKey: { prepend: known } as never } } : {}),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      const v = checkHostKey(check, key);
      if (v.ok) {
        if (v.warning) opts.onWarning?.(v.warning);
        if (v.added) opts.onWarning?.(v.added);
        verify(true);
      } else {
        hostKeyError = v.error;
        verify(false);
      }
    },
    authHandler: (_left, _partial, cb) => {
      if (next >= methods.length) return cb(false as never);
      tried.push(labels[next]);
      cb(methods[next++]);
    },
  };

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      stopListening();
      off();
      client.end();
      sock.destroy();
      reject(e);
    };
    const off = onAbort(opts.signal, () => fail(interrupted(hostName, opts.signal!)));
    // No byte from the server for the connect timeout: it is not answering.
    let silence: NodeJS.Timeout | undefined;
    const heard = () => {
      clearTimeout(silence);
      silence = setTimeout(() => fail(new ConnectionError(hostName, `${hostName}: ${timeoutMsg()}`)), spec.connectTimeoutMs);
    };
    sock.on('data', heard);
    heard();
    const stopListening = () => {
      clearTimeout(silence);
      sock.off('data', heard);
    };
    client.once('ready', () => {
      settled = true;
      stopListening();
      off();
      if ('setNoDelay' in sock) (sock as Socket).setNoDelay(true);
      resolve(client);
    });
    client.on('error', (e: Error & { level?: string; code?: string }) => {
      if (hostKeyError) return fail(hostKeyError);
      if (e.level === 'client-authentication') {
        const how = tried.length ? `tried ${tried.join(', ')}` : 'no private key, agent or password was available (set ansible_ssh_private_key_file)';
        return fail(new ConnectionError(hostName, `${hostName}: authentication failed for ${describe(ep)} (${how})`));
      }
      if (e.level === 'client-timeout' || /Timed out while waiting for handshake/.test(e.message)) {
        return fail(new ConnectionError(hostName, `${hostName}: the SSH handshake with ${where} did not finish within ${(spec.connectTimeoutMs * HANDSHAKE_CAP) / 1000} s`));
      }
      if (e.code) return fail(new ConnectionError(hostName, `${hostName}: ${socketReason(e as NodeJS.ErrnoException, ep)}`));
      fail(new ConnectionError(hostName, `${hostName}: SSH handshake with ${ep.host}:${ep.port} failed: ${e.message}`));
    });
    client.once('close', () => fail(hostKeyError ?? new ConnectionError(hostName, `${hostName}: ${ep.host}:${ep.port} closed the connection during the SSH handshake`)));
    client.connect(config);
  });
}

/** The host's own settings, else the run's (--ssh-keepalive), else 5 s × 3. */
export function effectiveKeepalive(spec: Pick<ConnectionSpec, 'keepalive'>, opts: Pick<SshHostOptions, 'keepalive'>): Keepalive {
  return { ...DEFAULT_KEEPALIVE, ...opts.keepalive, ...spec.keepalive };
}

/**
 * ssh2 gives up when a keepalive is due and countMax are already unanswered: one interval
 * later than interval × countMax. One fewer makes the documented figure true (5 s × 3 = 15 s).
 */
export function keepaliveConfig(k: Keepalive): Pick<ConnectConfig, 'keepaliveInterval' | 'keepaliveCountMax'> {
  return { keepaliveInterval: k.intervalS * 1000, keepaliveCountMax: Math.max(0, k.countMax - 1) };
}

/** Calls `fn` when `signal` aborts (at once if it already has); returns the way to stop listening. */
function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return () => undefined;
  if (signal.aborted) {
    queueMicrotask(fn);
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
