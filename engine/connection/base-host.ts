// Shared Host behaviour on top of one primitive, execRaw: become (sudo), LC_ALL=C,
// and file reads/writes as small POSIX sh scripts, so SSH and local behave the same.
import type { Host, RunOptions, RunResult, WriteOptions, WriteResult } from '../host.js';
import { CommandFailedError, PlayError, TimeoutError } from '../errors.js';
import { shQuote } from '../quote.js';

export interface RawResult {
  stdout: Buffer;
  stderr: Buffer;
  code: number | null;
  signal?: string | null;
}

export interface BecomeSettings {
  /** Whether tasks of this host run with become by default (play/task `become: true`). */
  enabled: boolean;
  user: string;
  /** Sent on stdin to `sudo -S`, never on a command line, never logged. */
  password?: string;
  /** Extra sudo flags from ansible_become_flags. */
  flags?: string;
}

/** Streaming and cancellation of one command (RunOptions.onStdout / signal). */
export interface LiveOptions {
  onStdout?(chunk: Buffer): void;
  signal?: AbortSignal;
}

/** How long after a command's own timeout the client gives up on the host answering. */
const BACKSTOP_MS = 2000;

export abstract class BaseHost implements Host {
  become: BecomeSettings = { enabled: false, user: 'root' };

  constructor(readonly name: string) {}

  /** Runs `command` through the remote `sh -c`, with stdin, returning raw bytes. */
  protected abstract execRaw(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, live?: LiveOptions): Promise<RawResult>;
  abstract close(): Promise<void>;

  /** Wraps a command for become and locale; returns the final command and stdin. */
  wrap(command: string, opts: RunOptions = {}): { command: string; stdin?: Buffer } {
    let cmd = opts.cLocale === false ? command : `LC_ALL=C; export LC_ALL; ${command}`;
    // coreutils timeout puts the command in a process group of its own and kills all of it:
    // closing the channel or killing the shell would leave its children running. Inside sudo,
    // so the group is the command's own.
    if (opts.timeoutMs !== undefined && opts.timeoutMs > 0) cmd = `timeout -s KILL ${(opts.timeoutMs / 1000).toFixed(3)} sh -c ${shQuote(cmd)}`;
    let stdin = opts.stdin === undefined ? undefined : Buffer.isBuffer(opts.stdin) ? opts.stdin : Buffer.from(opts.stdin);
    const useBecome = opts.become ?? this.become.enabled;
    if (useBecome) {
      const flags = this.become.flags ? ` ${this.become.flags}` : '';
      const args = `${flags} -u ${shQuote(opts.becomeUser ?? this.become.user)} -- sh -c`;
      if (this.become.password !== undefined) {
        cmd = becomeWithPassword(args, cmd);
        stdin = Buffer.concat([Buffer.from(this.become.password + '\n'), stdin ?? Buffer.alloc(0)]);
      } else {
        cmd = `sudo -n${args} ${shQuote(cmd)}`;
      }
    }
    return { command: cmd, stdin };
  }

  async runRaw(command: string, opts: RunOptions = {}): Promise<RawResult> {
    const w = this.wrap(command, opts);
    const t = opts.timeoutMs;
    const live = opts.onStdout || opts.signal ? { onStdout: opts.onStdout, signal: opts.signal } : undefined;
    if (t === undefined || t <= 0) return this.execRaw(w.command, w.stdin, undefined, live);
    // The host-side timeout does the killing; the client-side one is a backstop for a host
    // that stops answering altogether.
    const started = Date.now();
    const r = await this.execRaw(w.command, w.stdin, t + BACKSTOP_MS, live);
    if (r.code === 137 && Date.now() - started >= t) throw new TimeoutError(`${this.name}: command timed out after ${t / 1000} s and was killed: ${command}`);
    return r;
  }

  async runBytes(command: string, opts: RunOptions = {}): Promise<Omit<RunResult, 'stdout'> & { stdout: Buffer }> {
    const r = await this.runRaw(command, opts);
    return { stdout: r.stdout, stderr: r.stderr.toString('utf8'), code: r.code, signal: r.signal };
  }

  async run(command: string, opts: RunOptions = {}): Promise<RunResult> {
    const r = await this.runRaw(command, opts);
    return { stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), code: r.code, signal: r.signal };
  }

  async readFile(path: string, opts: { become?: boolean; becomeUser?: string } = {}): Promise<Buffer | null> {
    const p = shQuote(path);
    // Exit 3 = missing, so a missing file is not confused with a failure to read.
    const r = await this.runRaw(`if [ -e ${p} ]; then exec cat -- ${p}; else exit 3; fi`, { become: opts.become, becomeUser: opts.becomeUser });
    if (r.code === 3) return null;
    if (r.code !== 0) throw new CommandFailedError(this.name, `read ${path}`, r.code, r.stderr.toString('utf8'), r.signal);
    return r.stdout;
  }

  async writeFile(path: string, content: string | Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!path.startsWith('/')) throw new PlayError(`refusing to write ${path}: remote paths must be absolute`);
    const p = shQuote(path);
    const mode = opts.mode ? validMode(opts.mode) : '';
    const lines = [
      'set -e',
      `p=${p}`,
      'd=$(dirname -- "$p")',
      'tmp=$(mktemp "$d/.play-tmp.XXXXXX")',
      `trap 'rm -f -- "$tmp"' EXIT`,
      'cat > "$tmp"',
      // Keep mode and owner of the file being replaced; a new file gets 0644 unless told.
      'if [ -e "$p" ]; then chmod --reference="$p" -- "$tmp"; chown --reference="$p" -- "$tmp" 2>/dev/null || true; else chmod 0644 -- "$tmp"; fi',
    ];
    if (mode) lines.push(`chmod ${mode} -- "$tmp"`);
    if (opts.owner) lines.push(`chown ${shQuote(opts.owner)} -- "$tmp"`);
    if (opts.group) lines.push(`chgrp ${shQuote(opts.group)} -- "$tmp"`);
    if (opts.backup) {
      // Two writes in the same second must not overwrite the first backup: number the second.
      lines.push(
        'if [ -e "$p" ]; then t=$(date +%Y-%m-%d@%H:%M:%S); b="$p.$t~"; n=0',
        'while [ -e "$b" ]; do n=$((n+1)); b="$p.$t.$n~"; done; cp -p -- "$p" "$b"; printf "%s" "$b"; fi',
      );
    }
    lines.push('mv -f -- "$tmp" "$p"', 'trap - EXIT');
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const r = await this.runRaw(lines.join('\n'), { stdin: data, become: opts.become, becomeUser: opts.becomeUser });
    if (r.code !== 0) throw new CommandFailedError(this.name, `write ${path}`, r.code, r.stderr.toString('utf8'), r.signal);
    const backupPath = r.stdout.toString('utf8').trim();
    return backupPath ? { backupPath } : {};
  }
}

/**
 * The password arrives as the first line of stdin and never on a command line. The shell reads
 * it itself (sh's read takes a pipe byte by byte, so the rest of stdin stays for the command) and
 * hands it to `sudo -S` only when sudo would ask: a root login or a NOPASSWD rule would otherwise
 * get the password line as the command's stdin (and `cat > file` would write it). printf is a
 * shell builtin, so the password is not in any process's argv either; -p '' keeps the prompt
 * out of stderr.
 */
function becomeWithPassword(args: string, cmd: string): string {
  const c = shQuote(cmd);
  return [
    'IFS= read -r pw',
    `if sudo -n${args} : </dev/null >/dev/null 2>&1; then exec sudo -n${args} ${c}; fi`,
    `{ printf '%s\\n' "$pw"; exec cat; } | sudo -S -p ''${args} ${c}`,
  ].join('\n');
}

/** Accepts '0644', '644', 'u=rw,g=r,o=r'; refuses anything that is not a mode. */
export function validMode(mode: string): string {
  const m = String(mode);
  if (/^0?[0-7]{3,4}$/.test(m)) return m;
  if (/^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/.test(m)) return m;
  throw new PlayError(`invalid file mode '${m}': use octal like '0644' or symbolic like 'u=rw,g=r,o=r'`);
}
