// An apply given as data (Module.applySteps) sent in one exec, with the reads that must follow
// it: the task's own convergence re-read and, on its own host, the next tasks' reads. A read
// batched before an apply is stale after it; a read in the same exec after the apply is not.
import { CommandFailedError } from '../errors.js';
import { randomBytes } from 'node:crypto';
import type { ApplyOutcome, ApplyStep, ApplySteps, ModuleContext, RunStep, StepOutput, WriteStep } from '../module/contract.js';
import { batchScript, type ProbeOutput } from '../connection/sections.js';
import { writeError, writeScript } from '../connection/base-host.js';
import { simpleShell } from '../connection/tie.js';
import { backupOnce, type RunBackups } from './task-host.js';

/** A read to send after the apply: a probe's script and how long it may take. */
export interface ReadAfter {
  script: string;
  timeoutMs?: number;
}

export interface StepsDone {
  outcome: ApplyOutcome;
  /** Each read's output, in the order given (undefined: the exec ended before it). */
  reads: Array<ProbeOutput | undefined>;
}

const isWrite = (s: ApplyStep): s is WriteStep => 'write' in s;
const stepName = (s: ApplyStep): string => (isWrite(s) ? `write ${s.write}` : s.run);
const bytesOf = (c: string | Buffer): Buffer => (Buffer.isBuffer(c) ? c : Buffer.from(c, 'utf8'));

/**
 * Runs the steps, then the reads, in one `host.run`. Command steps get /dev/null as stdin (the
 * one write step reads its content from the exec's stdin); a failed step stops everything after
 * it. Throws what the module's `judge` throws for a failed command, and what Host.writeFile
 * would for a failed write.
 */
export async function runApplySteps(ctx: ModuleContext, given: ApplySteps, reads: ReadAfter[], backups?: RunBackups): Promise<StepsDone> {
  const { steps } = given;
  if (steps.some((s) => !isWrite(s) && s.apart)) {
    if (steps.length !== 1) throw new Error('applySteps: a step with its output apart must be the only one');
    return runApart(ctx, steps[0] as RunStep, given, reads);
  }
  const writes = steps.filter(isWrite);
  if (writes.length > 1) throw new Error('applySteps: at most one write step (its content travels on stdin)');
  const write = writes[0];
  const content = write && bytesOf(write.content);
  const backup = write && backupOnce(backups, ctx.host.name, write.write, write.opts?.backup === true);
  const scripts = steps.map((s) => (isWrite(s) ? writeScript(s.write, content!, { ...s.opts, backup: backup!.backup }) : `exec </dev/null\n${s.run}`));
  const { script, split } = batchScript([...scripts, ...reads.map(boundedRead)], steps.length);
  const r = await ctx.host.run(script, content ? { stdin: content } : {});
  const outs = split(r.stdout);
  const stepOuts = outs.slice(0, steps.length);
  const failed = stepOuts.findIndex((o) => o === undefined || o.code !== 0);
  if (failed >= 0) {
    const o = stepOuts[failed];
    // No output and no failed step before it: the exec itself ended early (killed, lost).
    if (!o) throw new CommandFailedError(ctx.hostName, stepName(steps[failed]), r.code, r.stderr || r.stdout, r.signal);
    if (isWrite(steps[failed])) throw writeError(ctx.hostName, write!.write, o.code, o.stdout);
  }
  steps.forEach((s, i) => !isWrite(s) && s.log && stepOuts[i] && ctx.log(`${ctx.hostName}: ${s.log}`));
  const judged = given.judge?.(stepOuts.map((o, i) => (isWrite(steps[i]) || !o ? undefined : asStepOutput(o)))) ?? {};
  // A failed command the module's judge let pass still fails the apply: the steps after it did not run.
  if (failed >= 0) throw new CommandFailedError(ctx.hostName, stepName(steps[failed]), stepOuts[failed]!.code, stepOuts[failed]!.stdout);
  const made = write && backup!.made(backupOf(write.write, stepOuts[steps.indexOf(write)]!.stdout));
  const outcome: ApplyOutcome = made ? { ...judged, backups: [...(judged.backups ?? []), made] } : judged;
  return { outcome, reads: outs.slice(steps.length) };
}

/** A read with a time limit (pings) gets its own: a limit on the exec would bound the apply too. */
const boundedRead = (r: ReadAfter): string => (r.timeoutMs ? simpleShell(r.script, r.timeoutMs) : r.script);

const asStepOutput = (o: ProbeOutput): StepOutput => ({ output: o.stdout, code: o.code });

/**
 * One command whose stdout and stderr stay apart and exact (RunStep.apart), then the reads: its
 * stdout ends at a marker with a random tag and the reads' output (their stderr included) follows,
 * so the exec's stderr is the command's own. The reads run whatever the command's exit code.
 */
async function runApart(ctx: ModuleContext, step: RunStep, given: ApplySteps, reads: ReadAfter[]): Promise<StepsDone> {
  const tag = randomBytes(6).toString('hex');
  const after = batchScript(reads.map(boundedRead));
  const script = `( ${step.run}\n)\nprintf '\\n@@apart-${tag} %s@@\\n' "$?"${reads.length ? `\n${after.script}` : ''}`;
  const started = Date.now();
  const r = await ctx.host.run(script, step.apart?.stdin !== undefined ? { stdin: step.apart.stdin } : {});
  const ms = Date.now() - started;
  const m = new RegExp(`\\n@@apart-${tag} (\\d+)@@\\n`).exec(r.stdout);
  // No marker: the exec ended inside the command (killed): its code and signal are the exec's.
  const out: StepOutput = m ? { output: r.stdout.slice(0, m.index), code: Number(m[1]), stderr: r.stderr, ms } : { output: r.stdout, code: r.code, stderr: r.stderr, signal: r.signal, ms };
  const judged = given.judge?.([out]) ?? {};
  if (out.code !== 0) throw new CommandFailedError(ctx.hostName, step.run, out.code, out.stderr ?? '', out.signal);
  if (step.log) ctx.log(`${ctx.hostName}: ${step.log}`);
  return { outcome: judged, reads: m ? after.split(r.stdout.slice(m.index + m[0].length)) : reads.map(() => undefined) };
}

/**
 * The backup a write step made: the last line it printed when that names a backup of the file
 * (`PATH.<time>~`); anything else it printed is a tool's warning, not a path.
 */
function backupOf(path: string, printed: string): string | undefined {
  const last = printed.trimEnd().split('\n').pop() ?? '';
  return last.startsWith(`${path}.`) && last.endsWith('~') ? last : undefined;
}
