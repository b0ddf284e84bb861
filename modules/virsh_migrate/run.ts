// One migration: start `virsh migrate` on the source, watch the job, steer it per policy, abort
// it (domjobabort) on a timeout or the run's interruption, and measure it. A --p2p job survives
// its virsh client, so stopping always goes through domjobabort, never through killing virsh.
import type { ApplyOutcome, Metrics, ModuleContext } from '../../engine/module/contract.js';
import type { Host } from '../../engine/connection/host.js';
import { InterruptedError, ModuleError, PlayError } from '../../engine/errors.js';
import { sh } from '../../engine/connection/quote.js';
import { jobRunning, parseJobInfo, type JobInfo } from './parse.js';
import { Steering, formatStep, type Action } from './policy.js';
import { migrateFlags, type MigrateRun } from './params.js';
import { startWatcher } from './watch.js';
import { collectLogs } from './logs.js';
import { diagnose } from './diagnose.js';

const MiB = 1048576;
/** How much later than the job's own clock the wall-clock backstop may fire. */
const WALL_CLOCK_GRACE_S = 15;

export interface MigrationPlan {
  src: Host;
  dst: Host;
  srcName: string;
  dstName: string;
  destUri: string;
  memoryBytes: number;
  sourcePersistent: boolean;
}

/** What the watcher has seen so far: the figures of the record. */
interface Seen {
  last?: JobInfo;
  peakBps: number;
  dirtyBps: number;
  iterations: number;
  downtimeLimitMs: number;
  abortWhy?: string;
}

const mib = (b: number) => b / MiB;
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

/** `42% · 120 MiB left · 85 MiB/s · dirty 16 MiB/s · pass 3 · downtime ≤ 150 ms` */
export function progressLine(j: JobInfo, downtimeMs: number, postcopy: boolean): string {
  const st = j.stats;
  const total = st.data_total || st.memory_total || 0;
  const left = st.data_remaining ?? st.memory_remaining ?? 0;
  const pct = total ? Math.min(100, Math.floor((100 * (total - left)) / total)) : 0;
  const dirty = (st.memory_dirty_rate ?? 0) * (st.memory_page_size ?? 4096);
  const pass = st.memory_iteration ?? 1;
  // QEMU measures the dirty rate from the second pass on.
  const parts = [`${pct}%`, `${Math.round(mib(left))} MiB left`, `${Math.round(mib(st.memory_bps ?? 0))} MiB/s`, pass > 1 ? `dirty ${Math.round(mib(dirty))} MiB/s` : 'dirty rate n/a', `pass ${pass}`];
  parts.push(postcopy ? 'post-copy' : `downtime ≤ ${downtimeMs} ms`);
  return parts.join(' · ');
}

export async function runMigration(ctx: ModuleContext, p: MigrateRun, plan: MigrationPlan): Promise<ApplyOutcome> {
  // Interrupted (or timed out) during preflight: nothing must start.
  if (ctx.signal.aborted) throw ctx.signal.reason instanceof PlayError ? ctx.signal.reason : new InterruptedError(`interrupted before migrating ${p.domain}: not started`);
  const { src, domain } = { src: plan.src, domain: p.domain };
  const gib = Math.max(plan.memoryBytes / 1024 ** 3, 1 / 64);
  const steering = new Steering({
    policy: p.policy,
    allowPostcopy: p.allow_postcopy,
    maxDowntimeMs: p.max_downtime_ms,
    completionTimeoutS: p.timeout_per_gib_s * gib,
    progressTimeoutS: p.progress_timeout_s,
    stallWindowS: p.stall_window_s,
  });
  const usePostcopy = p.policy === 'postcopy' || p.allow_postcopy;
  const seen: Seen = { peakBps: 0, dirtyBps: 0, iterations: 0, downtimeLimitMs: steering.initialDowntimeMs() };
  const warnings: string[] = [];
  // Steering commands one at a time, in order (a virsh call is ~0.35 s: samples arrive faster).
  // Each returns its own result (a refused step must not be recorded as done).
  let chain: Promise<unknown> = Promise.resolve();
  const virsh = (cmd: string): Promise<{ code: number | null; stderr: string }> => {
    const r = chain.then(() => src.run(cmd)).catch((e: unknown) => ({ code: -1, stderr: (e as Error)?.message ?? String(e) }));
    chain = r;
    return r;
  };
  let deferredAbort: string | undefined;

  const set = await src.run(sh`virsh migrate-setmaxdowntime ${domain} ${seen.downtimeLimitMs}`);
  if (set.code !== 0) warnings.push(`could not set the initial downtime limit: ${set.stderr.trim()}`);

  const t0 = Date.now();
  const flags = migrateFlags(p, usePostcopy, plan.sourcePersistent);
  ctx.progress(`starting: virsh migrate ${flags.join(' ')} ${domain} → ${plan.dstName}`);
  const limitS = steering.cfg.completionTimeoutS + 120;
  const migrating = src.run(migrateScript(domain, flags, plan.destUri, limitS));
  let finished = false;
  void migrating.finally(() => (finished = true));

  const abort = (why: string) => {
    if (seen.abortWhy) return;
    if (steering.switchingToPostcopy) {
      deferredAbort ??= why; // decided once libvirt answers the post-copy request
      return;
    }
    if (steering.inPostcopy) {
      warnings.push(`${why}: not aborted, the migration is in post-copy (aborting now would lose the guest); it was left to finish`);
      return;
    }
    seen.abortWhy = why;
    ctx.progress(`aborting: ${why}`);
    void abortUntilDone(src, domain, () => finished, ctx.log).then((err) => {
      if (!err) return;
      seen.abortWhy = `${why}; ${err}`;
      note(err);
    });
  };
  const onSignal = () => abort((ctx.signal.reason as Error)?.message ?? 'interrupted');
  if (ctx.signal.aborted) onSignal();
  else ctx.signal.addEventListener('abort', onSignal, { once: true });

  // Samples may stop (the watcher died, the link hangs): the timeouts then run by wall clock.
  let lastSampleAt = Date.now();
  let clockFired = false;
  const clock = setInterval(() => {
    const now = Date.now();
    // A backstop only: the job's own clock (samples) decides first; the wall clock also counts setup.
    const why = (now - t0) / 1000 > steering.cfg.completionTimeoutS + WALL_CLOCK_GRACE_S
      ? `completion timeout: not done after ${Math.round(steering.cfg.completionTimeoutS)} s (wall clock; no job statistics decided it)`
      : (now - lastSampleAt) / 1000 > p.progress_timeout_s ? `no job statistics from ${plan.srcName} for ${p.progress_timeout_s} s` : undefined;
    if (why && !clockFired) {
      clockFired = true;
      abort(why);
    }
  }, 1000);
  const onSample = (j: JobInfo) => {
    lastSampleAt = Date.now();
    if (!jobRunning(j) || seen.abortWhy) return;
    seen.last = j;
    const st = j.stats;
    seen.peakBps = Math.max(seen.peakBps, st.memory_bps ?? 0);
    seen.dirtyBps = Math.max(seen.dirtyBps, (st.memory_dirty_rate ?? 0) * (st.memory_page_size ?? 4096));
    seen.iterations = st.memory_iteration ?? seen.iterations;
    // During setup the job has no figures yet (remaining 0 would look like the best progress ever).
    if (!st.data_total) return;
    for (const a of steering.next({ t: (st.time_elapsed ?? Date.now() - t0) / 1000, remaining: st.data_remaining ?? st.memory_remaining ?? 0, iteration: st.memory_iteration ?? 1 })) act(a);
    ctx.progress(progressLine(j, seen.downtimeLimitMs, steering.inPostcopy));
  };
  const act = (a: Action) => {
    ctx.log(`${plan.srcName}: ${domain}: ${a.kind}${a.kind === 'set-downtime' ? ` ${a.ms} ms` : ''} (${a.why})`);
    if (a.kind === 'set-downtime') void setDowntime(a.ms);
    else if (a.kind === 'postcopy') void toPostcopy();
    else abort(a.why);
  };
  const setDowntime = async (ms: number) => {
    const r = await virsh(sh`virsh migrate-setmaxdowntime ${domain} ${ms}`);
    if (r.code === 0) seen.downtimeLimitMs = ms;
    else note(`could not raise the downtime limit to ${ms} ms (it stays ${seen.downtimeLimitMs} ms): ${r.stderr.trim()}`);
  };
  const toPostcopy = async () => {
    const r = await virsh(sh`virsh migrate-postcopy ${domain}`);
    steering.postcopyResult(r.code === 0);
    if (r.code === 0) ctx.log(`${plan.srcName}: ${domain}: in post-copy (confirmed by libvirt)`);
    else note(`could not switch to post-copy: ${r.stderr.trim()}; the migration stays in pre-copy and can be aborted`);
    if (deferredAbort) abort(deferredAbort); // in post-copy: a warning; else the abort it waited for
  };
  const note = (w: string) => {
    warnings.push(w);
    ctx.log(`${plan.srcName}: ${domain}: ${w}`);
  };

  const onWatcherError = (e: unknown) => note(`the job watcher failed: ${(e as Error)?.message ?? e} (the timeouts run by wall clock)`);
  const watcher = startWatcher(src, domain, limitS, onSample, onWatcherError);
  const result = await migrating.finally(() => clearInterval(clock));
  watcher.stop();
  ctx.signal.removeEventListener('abort', onSignal);
  await chain;
  const out = parseMigrateOutput(result.stdout);
  const totalS = out.wallS ?? (Date.now() - t0) / 1000;
  if (result.code === 0) return success(ctx, p, plan, steering, seen, totalS, warnings, out.event);
  throw await failure(ctx, p, plan, steering, seen, totalS, result.stderr, new Date(t0));
}

/**
 * `virsh migrate` with the source's job-completed event listened for around it: the event
 * carries the final statistics even after post-copy, and after the domain left the source
 * (where `domjobinfo --completed` has nothing left to show). Timestamps taken on the source.
 */
export function migrateScript(domain: string, flags: string[], uri: string, limitS: number): string {
  return [
    'ev=$(mktemp)',
    `${sh`virsh -q event --domain ${domain} --event job-completed --timeout ${Math.ceil(limitS)}`} >"$ev" 2>&1 & evp=$!`,
    'sleep 0.3', // the listener registers before the job can end
    'echo "@@t0 $(date +%s.%N)"',
    sh`virsh migrate ${flags} ${domain} ${uri}`,
    'rc=$?',
    'echo "@@t1 $(date +%s.%N)"',
    // A completed job's event is on its way; a failed one never comes.
    'if [ $rc -eq 0 ]; then i=0; while kill -0 $evp 2>/dev/null && [ $i -lt 30 ]; do sleep 0.1; i=$((i+1)); done; fi',
    'kill $evp 2>/dev/null; wait $evp 2>/dev/null',
    'echo "@@event"; cat "$ev"; rm -f "$ev"',
    'exit $rc',
  ].join('\n');
}

export function parseMigrateOutput(stdout: string): { wallS?: number; event?: JobInfo } {
  const t0 = Number(/^@@t0 (\S+)$/m.exec(stdout)?.[1]);
  const t1 = Number(/^@@t1 (\S+)$/m.exec(stdout)?.[1]);
  const evText = stdout.split(/^@@event$/m)[1] ?? '';
  const event = /job-completed/.test(evText) ? { ...parseJobInfo(evText), type: 'completed' as const } : undefined;
  return { wallS: Number.isFinite(t1 - t0) ? t1 - t0 : undefined, event };
}

/**
 * domjobabort until the migration returns: right after `virsh migrate` starts there may be no
 * job yet ("no job is active"), and a p2p job must never be left running. Each refusal is
 * logged; giving up with the job still there is returned as an error, never silent.
 */
async function abortUntilDone(src: Host, domain: string, finished: () => boolean, log: (line: string) => void): Promise<string | undefined> {
  let last = '';
  for (let i = 0; i < 40 && !finished(); i++) {
    const r = await src.run(sh`virsh domjobabort ${domain}`);
    if (r.code === 0) return undefined;
    last = r.stderr.trim();
    log(`${src.name}: domjobabort ${domain}: ${last}`);
    await new Promise((res) => setTimeout(res, 250));
  }
  return finished() ? undefined : `could not abort: job still running on ${src.name} (${last})`;
}

function baseMetrics(p: MigrateRun, steering: Steering, seen: Seen, totalS: number): Metrics {
  return {
    total_s: r2(totalS),
    policy: p.policy,
    strategy: steering.strategy(p.auto_converge),
    iterations: seen.iterations,
    peak_mibps: r1(mib(seen.peakBps)),
    dirty_rate_mibps: r1(mib(seen.dirtyBps)),
    downtime_limit_ms: seen.downtimeLimitMs,
    policy_steps: steering.steps.length,
    steps: steering.steps.map(formatStep).join('; ') || 'none',
  };
}

async function success(ctx: ModuleContext, p: MigrateRun, plan: MigrationPlan, steering: Steering, seen: Seen, totalS: number, warnings: string[], event?: JobInfo): Promise<ApplyOutcome> {
  // The source's job-completed event; else the destination's completed job (empty after post-copy).
  const done = event ?? parseJobInfo((await plan.dst.run(sh`virsh domjobinfo --completed --rawstats ${p.domain}`)).stdout);
  if (done.type !== 'completed') warnings.push('no final job statistics (event or completed job): figures are from the last sample');
  const st = done.type === 'completed' ? done.stats : (seen.last?.stats ?? {});
  const elapsedS = (st.time_elapsed ?? totalS * 1000) / 1000;
  const dataBytes = st.data_processed ?? st.memory_processed ?? 0;
  const downtimeMs = st.downtime_net ?? st.downtime;
  // An unknown figure is left out (reports and Prometheus show no sample), never a made-up -1.
  const metrics: Metrics = {
    ...baseMetrics(p, steering, seen, totalS),
    job_s: r2(elapsedS),
    ...(downtimeMs !== undefined ? { downtime_ms: downtimeMs } : {}),
    ...(st.setup_time !== undefined ? { setup_ms: st.setup_time } : {}),
    data_mib: r1(mib(dataBytes)),
    avg_mibps: elapsedS > 0 ? r1(mib(dataBytes) / elapsedS) : 0,
    iterations: st.memory_iteration ?? seen.iterations,
    postcopy_requests: st.memory_postcopy_requests ?? 0,
  };
  if (steering.inPostcopy) warnings.push('finished in post-copy: the guest depended on both hosts until it completed');
  await checkRunningAfter(plan, p.domain, metrics);
  ctx.progress(`done in ${metrics.total_s} s, downtime ${downtimeMs !== undefined ? `${downtimeMs} ms` : 'unknown'} (${metrics.strategy})`);
  return {
    data: { migrated: true, from: plan.srcName, to: plan.dstName, total_s: metrics.total_s, downtime_ms: downtimeMs ?? null, strategy: metrics.strategy },
    metrics,
    warnings,
  };
}

/**
 * The job completed, but is the guest alive on the destination? A guest that crashed right after
 * the switch-over (seen once under TCG: a kernel panic on the destination) must be a loud failure.
 */
async function checkRunningAfter(plan: MigrationPlan, domain: string, metrics: Metrics): Promise<void> {
  const state = (await plan.dst.run(sh`virsh domstate ${domain}`)).stdout.trim();
  if (state === 'running') return;
  const log = (await plan.dst.run(sh`tail -n 5 ${`/var/log/libvirt/qemu/${domain}.log`}`)).stdout.trim().split('\n').map((l) => `  ${plan.dstName} qemu/${domain}.log: ${l}`);
  const e = new ModuleError([`migration of ${domain} from ${plan.srcName} to ${plan.dstName} completed, but the guest is not running on ${plan.dstName} (${state || 'absent'}) and has left ${plan.srcName}: it is DOWN and must be started again`, ...log].join('\n'));
  e.metrics = { ...metrics, strategy: 'guest-stopped' };
  throw e;
}

/** Where the guest runs now, in words, checked on both hosts. */
async function whereNow(plan: MigrationPlan, domain: string): Promise<string> {
  const state = async (h: Host) => (await h.run(sh`virsh domstate ${domain}`)).stdout.trim() || 'absent';
  const [a, b] = await Promise.all([state(plan.src), state(plan.dst)]);
  if (a === 'running' && b !== 'running') return `${domain} keeps running on ${plan.srcName} (not on ${plan.dstName})`;
  if (b === 'running' && a !== 'running') return `${domain} now runs on ${plan.dstName}`;
  return `${domain}: ${plan.srcName} ${a}, ${plan.dstName} ${b}`;
}

async function failure(ctx: ModuleContext, p: MigrateRun, plan: MigrationPlan, steering: Steering, seen: Seen, totalS: number, stderr: string, since: Date): Promise<ModuleError> {
  const where = await whereNow(plan, p.domain);
  const virshErr = stderr.replace(/^error:\s*/gm, '').trim().split('\n').filter(Boolean).join('; ');
  let msg: string;
  if (seen.abortWhy) {
    msg = `migration of ${p.domain} from ${plan.srcName} to ${plan.dstName} aborted (${seen.abortWhy}) after ${totalS.toFixed(1)} s; ${where}`;
  } else {
    const logs = await collectLogs(plan, p.domain, since);
    const d = diagnose([{ name: 'virsh', text: stderr }, ...logs]);
    const cause = d.cause ?? virshErr;
    msg = [`migration of ${p.domain} from ${plan.srcName} to ${plan.dstName} failed: ${cause}; ${where}`, ...(d.cause ? [`virsh: ${virshErr}`] : []), ...d.evidence.map((e) => `  ${e}`)].join('\n');
  }
  const e = new ModuleError(msg);
  e.metrics = { ...baseMetrics(p, steering, seen, totalS), strategy: seen.abortWhy ? 'aborted' : 'failed' };
  ctx.progress(seen.abortWhy ? 'aborted' : 'failed');
  return e;
}
