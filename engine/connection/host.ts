// The one door to a host: every module reads and writes through this interface.
import { CommandFailedError } from '../errors.js';

export interface RunResult {
  stdout: string;
  stderr: string;
  /** Exit code; null when killed by a signal. */
  code: number | null;
  signal?: string | null;
}

export interface RunOptions {
  /** Bytes fed to the command's stdin (e.g. file content, a sudo password). */
  stdin?: string | Buffer;
  timeoutMs?: number;
  /** Run through the host's become method (sudo) if the task asked for it. */
  become?: boolean;
  /** User to become (default: the host's become user, usually root). */
  becomeUser?: string;
  /** Prefix LC_ALL=C (default true): output that is parsed must not be localised. */
  cLocale?: boolean;
  /** Each chunk of stdout as it arrives (a long-lived watcher's lines); the result still has all of it. */
  onStdout?(chunk: Buffer): void;
  /** Aborting it stops the command on the host; the call rejects with InterruptedError. */
  signal?: AbortSignal;
}

export interface WriteOptions {
  /** Octal mode string like '0644'; default: keep the old file's mode, else 0644. */
  mode?: string;
  owner?: string;
  group?: string;
  /** Keep the previous content as PATH.<timestamp>~ and return its path. */
  backup?: boolean;
  become?: boolean;
  becomeUser?: string;
  /** Aborting it cuts the upload: the host keeps the old file (the content is verified first). */
  signal?: AbortSignal;
}

export interface WriteResult {
  backupPath?: string;
}

export interface Host {
  /** Inventory name of the host. */
  readonly name: string;
  /** Runs a command through `sh -c`; resolves on any exit code (never throws on non-zero). */
  run(command: string, opts?: RunOptions): Promise<RunResult>;
  /** Like run, but stdout as bytes: for output that carries file content (binary-safe). */
  runBytes(command: string, opts?: RunOptions): Promise<Omit<RunResult, 'stdout'> & { stdout: Buffer }>;
  /** Reads a whole file; null if it does not exist. */
  readFile(path: string, opts?: { become?: boolean; becomeUser?: string; signal?: AbortSignal }): Promise<Buffer | null>;
  /** Writes atomically (temp file in the same directory + rename), keeping mode/owner. */
  writeFile(path: string, content: string | Buffer, opts?: WriteOptions): Promise<WriteResult>;
  close(): Promise<void>;
}

/** Runs and throws CommandFailedError (execa-like message) unless the exit code is 0. */
export async function runChecked(host: Host, command: string, opts?: RunOptions): Promise<RunResult> {
  const r = await host.run(command, opts);
  if (r.code !== 0) throw new CommandFailedError(host.name, command, r.code, r.stderr, r.signal);
  return r;
}
