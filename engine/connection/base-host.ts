// Shared Host behaviour on top of one primitive, execRaw: become (sudo), LC_ALL=C,
// and file reads/writes as small POSIX sh scripts, so SSH and local behave the same.
import type { Host, RunOptions, RunResult, WriteOptions, WriteResult } from './host.js';
import { CommandFailedError, InterruptedError, PlayError, TimeoutError } from '../errors.js';
import { simpleShell, tiedToChannel } from './tie.js';
import { shQuote } from './quote.js';
import { createHash } from 'node:crypto';

export interface RawResult {
  stdout: Buffer;
  stderr: Buffer;
  code: number | null;
  signal?: string | null;
}

export interface ExecControl {
  signal?: AbortSignal;
  keepStdinOpen?: boolean;
  /** Each chunk of stdout as it arrives (a long-lived watcher's lines). */
  onStdout?(chunk: Buffer): void;
}

/** The error a command stopped by the run's interruption rejects with. */
export function interrupted(host: string, signal: AbortSignal): InterruptedError {
  const why = signal.reason instanceof Error ? signal.reason.message : 'the run was interrupted';
  return new InterruptedError(`${host}: stopped: ${why}`);
}

export interface BecomeSettings {
  /** Whether tasks of this host run with become by default (play/task `become: true`). */
  enabled: boolean;
  user: string;
  /** Sent on stdin to `sudo -S`, never on a command line, never logged. */
  password?: string;
  /** Extra sudo flags from ansible_become_flags, already split and quoted word by word (spec.ts). */
  flags?: string;
}

/** How long after a command's own timeout the client gives up on the host answering. */
const BACKSTOP_MS = 2000;

export abstract class BaseHost implements Host {
  become: BecomeSettings = { enabled: false, user: 'root' };

  constructor(readonly name: string) {}

  /**
   * Runs `command` through the remote `sh -c`, with stdin, returning raw bytes. `ctl.signal`
   * aborts it (the command is stopped on the host, the promise rejects with InterruptedError);
   * `ctl.keepStdinOpen`: send no EOF (the command is tied to the channel, see tie.ts).
   */
  protected abstract execRaw(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, ctl?: ExecControl): Promise<RawResult>;
  abstract close(): Promise<void>;

  /** Hosts whose closed channels do not stop commands by themselves (SSH) tie commands to them. */
  protected readonly tieCommands: boolean = false;

  /** Wraps a command for become and locale; returns the final command and stdin. */
  wrap(command: string, opts: RunOptions = {}): { command: string; stdin?: Buffer; tied: boolean } {
    let cmd = opts.cLocale === false ? command : `LC_ALL=C; export LC_ALL; ${command}`;
    // A command fed on stdin (a file's content) ends at its EOF anyway; any other is tied.
    const tied = this.tieCommands && opts.stdin === undefined;
    // coreutils timeout puts the command in a process group of its own and kills all of it:
    // closing the channel or killing the shell would leave its children running. Inside sudo,
    // so the group is the command's own.
    const limited = opts.timeoutMs !== undefined && opts.timeoutMs > 0;
    if (tied) cmd = tiedToChannel(simpleShell(cmd, opts.timeoutMs));
    else if (limited) cmd = simpleShell(cmd, opts.timeoutMs);
    let stdin = opts.stdin === undefined ? undefined : Buffer.isBuffer(opts.stdin) ? opts.stdin : Buffer.from(opts.stdin);
    const useBecome = opts.become ?? this.become.enabled;
    if (useBecome) {
      const flags = this.become.flags ? ` ${this.become.flags}` : '';
      const args = `${flags} -u ${shQuote(opts.becomeUser ?? this.become.user)} -- sh -c`;
      if (this.become.password !== undefined) {
        cmd = becomeWithPassword(args, cmd, tied);
        stdin = Buffer.concat([Buffer.from(this.become.password + '\n'), stdin ?? Buffer.alloc(0)]);
      } else {
        cmd = `sudo -n${args} ${shQuote(cmd)}`;
      }
    }
    return { command: cmd, stdin, tied };
  }

  async runRaw(command: string, opts: RunOptions = {}): Promise<RawResult> {
    const w = this.wrap(command, opts);
    const t = opts.timeoutMs;
    const ctl: ExecControl = { signal: opts.signal, keepStdinOpen: w.tied, onStdout: opts.onStdout };
    if (opts.signal?.aborted) throw interrupted(this.name, opts.signal);
    if (t === undefined || t <= 0) return this.execRaw(w.command, w.stdin, undefined, ctl);
    // The host-side timeout does the killing; the client-side one is a backstop for a host
    // that stops answering altogether.
    const started = Date.now();
    const r = await this.execRaw(w.command, w.stdin, t + BACKSTOP_MS, ctl);
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

  async readFile(path: string, opts: { become?: boolean; becomeUser?: string; signal?: AbortSignal } = {}): Promise<Buffer | null> {
    const p = shQuote(path);
    // Exit 3 = missing, so a missing file is not confused with a failure to read.
    const r = await this.runRaw(`if [ -e ${p} ]; then exec cat -- ${p}; else exit 3; fi`, { become: opts.become, becomeUser: opts.becomeUser, signal: opts.signal });
    if (r.code === 3) return null;
    if (r.code !== 0) throw new CommandFailedError(this.name, `read ${path}`, r.code, r.stderr.toString('utf8'), r.signal);
    return r.stdout;
  }

  async writeFile(path: string, content: string | Buffer, opts: WriteOptions = {}): Promise<WriteResult> {
    if (!path.startsWith('/')) throw new PlayError(`refusing to write ${path}: remote paths must be absolute`);
    const data = Buffer.isBuffer(content) ? content : Buffer.from(content, 'utf8');
    const r = await this.runRaw(writeScript(path, data, opts), { stdin: data, become: opts.become, becomeUser: opts.becomeUser, signal: opts.signal });
    if (r.code !== 0) throw writeError(this.name, path, r.code, r.stderr.toString('utf8'), r.signal);
    const backupPath = r.stdout.toString('utf8').trim();
    return backupPath ? { backupPath } : {};
  }
}

/** Exit code of a write whose content did not all arrive (length or sha256 differ). */
export const INCOMPLETE_UPLOAD = 97;

/** The error of a write script (writeScript) that exited `code`, not 0. */
export function writeError(host: string, path: string, code: number | null, stderr: string, signal?: string | null): PlayError {
  if (code === INCOMPLETE_UPLOAD) return new PlayError(`${host}: ${path} was not written: ${stderr.trim() || 'the upload was incomplete'}`);
  return new CommandFailedError(host, `write ${path}`, code, stderr, signal);
}

/**
 * The remote side of writeFile: content into a temp file beside the target, verified against
 * the length and sha256 sent in the script before it replaces anything. A client that dies
 * mid-upload closes stdin, which `cat` takes for the end of the content: without the check a
 * truncated file would be installed. On any failure or signal the temp file is removed.
 */
export function writeScript(path: string, data: Buffer, opts: WriteOptions): string {
  const mode = opts.mode ? validMode(opts.mode) : '';
  const sha = createHash('sha256').update(data).digest('hex');
  const lines = [
    'set -e',
    `p=${shQuote(path)}`,
    'd=$(dirname -- "$p")',
    'tmp=$(mktemp "$d/.play-tmp.XXXXXX")',
    `trap 'rm -f -- "$tmp"' EXIT`,
    // dash runs the EXIT trap on exit, not when a signal kills it: turn signals into exits.
    `trap 'exit 129' HUP; trap 'exit 130' INT; trap 'exit 143' TERM; trap 'exit 141' PIPE`,
    'cat > "$tmp"',
    'n=$(wc -c < "$tmp")',
    `if [ "$n" -ne ${data.length} ] || [ "$(sha256sum < "$tmp")" != '${sha}  -' ]; then`,
    `  echo "incomplete upload: $n of ${data.length} bytes arrived or their sha256 differs; the file was left as it was" >&2; exit ${INCOMPLETE_UPLOAD}`,
    'fi',
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
  return lines.join('\n');
}

/**
 * The password arrives as the first line of stdin and never on a command line. The shell reads
 * it itself (sh's read takes a pipe byte by byte, so the rest of stdin stays for the command) and
 * hands it to `sudo -S` only when sudo would ask: a root login or a NOPASSWD rule would otherwise
 * get the password line as the command's stdin (and `cat > file` would write it). printf is a
 * shell builtin, so the password is not in any process's argv either; -p '' keeps the prompt
 * out of stderr.
 */
function becomeWithPassword(args: string, cmd: string, tied: boolean): string {
  const c = shQuote(cmd);
  const lines = ['IFS= read -r pw', `if sudo -n${args} : </dev/null >/dev/null 2>&1; then exec sudo -n${args} ${c}; fi`];
  if (!tied) return [...lines, `{ printf '%s\\n' "$pw"; exec cat; } | sudo -S -p ''${args} ${c}`].join('\n');
  // A tied command (tie.ts) keeps the channel's stdin open until the channel closes, so a
  // pipeline would wait for its feeding `cat` forever: feed sudo through a FIFO instead and
  // stop the feeder once sudo is done. The password is tried alone first: sudo asks again
  // after a wrong one and would wait on the open channel for another try.
  return [
    ...lines,
    `printf '%s\\n' "$pw" | sudo -S -p ''${args} true >/dev/null || exit 1`,
    'd=$(mktemp -d) && mkfifo -m 600 "$d/in" || exit 1',
    // fd 3: an asynchronous list's stdin is /dev/null.
    'exec 3<&0',
    `{ printf '%s\\n' "$pw"; exec cat <&3; } > "$d/in" & p=$!`,
    `sudo -S -p ''${args} ${c} < "$d/in" 3<&-; r=$?`,
    'kill $p 2>/dev/null; rm -rf -- "$d"; exit $r',
  ].join('\n');
}

/** Accepts '0644', '644', 'u=rw,g=r,o=r'; refuses anything that is not a mode. */
export function validMode(mode: string): string {
  const m = String(mode);
  if (/^0?[0-7]{3,4}$/.test(m)) return m;
  if (/^[ugoa]*[-+=][rwxXst]*(,[ugoa]*[-+=][rwxXst]*)*$/.test(m)) return m;
  throw new PlayError(`invalid file mode '${m}': use octal like '0644' or symbolic like 'u=rw,g=r,o=r'`);
}
