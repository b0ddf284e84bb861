// One base class for every error the engine expects; anything else is a bug and shows its stack.

/** A place in a user file, printed as file:line:col. Lines and columns are 1-based. */
export interface SourcePos {
  file: string;
  line?: number;
  col?: number;
}

export function formatPos(pos: SourcePos | undefined): string {
  if (!pos) return '';
  let s = pos.file;
  if (pos.line !== undefined) s += `:${pos.line}`;
  if (pos.line !== undefined && pos.col !== undefined) s += `:${pos.col}`;
  return s;
}

export class PlayError extends Error {
  /** A user mistake: the CLI prints the message alone, without a stack. */
  readonly userError: boolean = true;
  /** Data for `register` even though the task failed (a failed command's rc/stdout/stderr). */
  data?: Record<string, unknown>;
  /** Changes whose apply had started when this was thrown: the host may have some of them. */
  attempted?: import('./module/contract.js').Change[];
  /** Figures measured before the failure (an aborted migration's record): reported like a success's. */
  metrics?: import('./module/contract.js').Metrics;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

export interface Problem {
  pos?: SourcePos;
  /** The field the problem is about, e.g. `tasks[2].sysctl.settings`. */
  field?: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  const where = formatPos(p.pos);
  return where ? `${where}: ${p.message}` : p.message;
}

/** Every problem found in the user's input at once (Pulumi-style), before any host is touched. */
export class ValidationError extends PlayError {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.problems = problems;
  }
}

export class ConnectionError extends PlayError {
  constructor(readonly host: string, message: string) {
    super(message);
  }
}

/** Refused host key: the message names the host and the fingerprint. */
export class HostKeyError extends ConnectionError {}

/** A remote command that had to succeed and did not; reads like execa's message. */
export class CommandFailedError extends PlayError {
  constructor(
    readonly host: string,
    readonly command: string,
    readonly code: number | null,
    readonly stderr: string,
    readonly signal?: string | null,
  ) {
    const how = signal ? `was killed with ${signal}` : `failed with exit code ${code}`;
    const err = stderr.trim();
    super(`Command ${how} on ${host}: ${command}${err ? `\n${err}` : ''}`);
  }
}

/** A module that cannot do what the task asks ("the driver cannot change rings"). */
export class ModuleError extends PlayError {}

/** apply ran, but reading again still shows differences. */
export class ConvergenceError extends PlayError {}

export class TimeoutError extends PlayError {}

/** The run was interrupted (Ctrl-C, SIGTERM) while this was running: it was stopped. */
export class InterruptedError extends PlayError {
  /** The signal that interrupted the run (SIGINT, SIGTERM), when one did. */
  constructor(message: string, readonly signalName?: string) {
    super(message);
  }
}
