// Ctrl-C and SIGTERM during a run: one AbortController for the whole run, whose signal the
// engine passes down to every task and command (runner/run.ts `signal`). A second signal ends
// the grace period given to running tasks at once; a third quits.
import { setMaxListeners } from 'node:events';
import { InterruptedError } from '../errors.js';

export interface RunInterrupt {
  /** Aborted by the first SIGINT/SIGTERM; its reason is an InterruptedError naming the signal. */
  signal: AbortSignal;
  /** Aborted by a second signal: stop waiting for running tasks to clean up. */
  hurry: AbortSignal;
  /** Removes the handlers (the run is over: a later Ctrl-C exits as usual). */
  dispose(): void;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

export function interruptOnSignals(notify: (line: string) => void, graceS: number): RunInterrupt {
  const run = new AbortController();
  const hurry = new AbortController();
  // Every connection being made and every running command listens to the run's signal: a fleet
  // has thousands at once, which is no leak (Node warned "Possible EventTarget memory leak" at 11).
  setMaxListeners(0, run.signal, hurry.signal);
  const handler = (sig: NodeJS.Signals) => {
    if (!run.signal.aborted) {
      notify(`interrupted by ${sig}: stopping the running tasks (up to ${graceS} s for them to clean up; ${sig === 'SIGINT' ? 'Ctrl-C' : sig} again to stop waiting)`);
      run.abort(new InterruptedError(`interrupted by ${sig}`, sig));
    } else if (!hurry.signal.aborted) {
      notify(`${sig} again: no more waiting, closing every connection (once more to quit at once, without reports)`);
      hurry.abort();
    } else {
      // The escape hatch when something cannot be stopped: reports and history are written
      // atomically, so quitting here can lose them but never leaves half of one.
      notify(`${sig} a third time: quitting now; no recap, reports or history for this run`);
      dispose();
      process.kill(process.pid, sig); // the default action now: die of the signal
    }
  };
  const dispose = () => SIGNALS.forEach((s) => process.off(s, handler));
  for (const s of SIGNALS) process.on(s, handler);
  return { signal: run.signal, hurry: hurry.signal, dispose };
}
