// One module task on one host through the engine's own module loop (engine/runner/task.ts
// moduleSteps): check mode, the convergence re-read, the action exemption and failures, warnings
// and skip are the engine's, so module tests test what a run does. Only parameter validation is
// asserted here (the tests pass valid parameters; bad input has its own tests through `play`).
import assert from 'node:assert/strict';
import type { Host } from '../engine/connection/host.js';
import { ConnectionError, PlayError } from '../engine/errors.js';
import { standaloneContext, type Module } from '../engine/module/contract.js';
import { validateParams, type SchemaProblem } from '../engine/module/schema.js';
import { failedOutcome, moduleSteps, type SingleOutcome } from '../engine/runner/task.js';

export interface LoopOutcome extends SingleOutcome {
  /** The lines of a failed outcome's message (a diff's failures, one each), else none. */
  failures: string[];
}

export interface LoopOptions {
  check?: boolean;
  vars?: Record<string, unknown>;
  /** The test expects the task may fail; otherwise a failed outcome fails the test (nothing silent). */
  mayFail?: boolean;
}

export async function runModule(host: Host, mod: Module, raw: Record<string, unknown>, opts: LoopOptions = {}): Promise<LoopOutcome> {
  const problems: SchemaProblem[] = [];
  const params = mod.freeKeys ? { ...raw } : validateParams(mod.params, raw, problems);
  assert.deepEqual(problems, [], 'schema problems');
  assert.deepEqual(mod.validate?.(params) ?? [], [], 'validate problems');
  let out: SingleOutcome;
  try {
    out = await moduleSteps(mod, standaloneContext(host, opts.vars ?? {}), params, opts.check ?? false);
  } catch (e) {
    // As runOne: a module's PlayError fails the task; a lost connection is not the module's doing.
    if (!(e instanceof PlayError) || e instanceof ConnectionError) throw e;
    out = failedOutcome(e);
  }
  if (out.status === 'failed' && !opts.mayFail) assert.fail(`${mod.name} failed: ${out.msg}`);
  return { ...out, failures: out.status === 'failed' && out.msg ? out.msg.split('\n') : [] };
}
