// The steering policy driven by sample sequences shaped like real jobs: a link slower than the
// guest's dirty rate (every pass as big as the last), and a migration that converges.
import assert from 'node:assert/strict';
import { Steering, DOWNTIME_RAMP, formatStep, type JobSample, type PolicyConfig, type Action } from '../../modules/virsh_migrate/policy.js';

const MiB = 1048576;

/** A job that never converges: passes of 6 s, each starting at 64 MiB and bottoming out at 8 MiB. */
function stuck(seconds: number, pass = 6): JobSample[] {
  const out: JobSample[] = [];
  for (let t = 0.5; t <= seconds; t += 0.5) {
    const iteration = 1 + Math.floor(t / pass);
    const within = (t % pass) / pass;
    out.push({ t, iteration, remaining: Math.round((64 - 56 * within) * MiB) });
  }
  return out;
}

/** A job that converges: every pass smaller than the last. */
function converging(seconds: number): JobSample[] {
  const out: JobSample[] = [];
  for (let t = 0.5; t <= seconds; t += 0.5) out.push({ t, iteration: 1 + Math.floor(t / 2), remaining: Math.round((256 * MiB) / (1 + t)) });
  return out;
}

const base: PolicyConfig = { policy: 'converge', allowPostcopy: false, maxDowntimeMs: 500, completionTimeoutS: 120, progressTimeoutS: 150, stallWindowS: 10 };

function feed(cfg: PolicyConfig, samples: JobSample[]): { steering: Steering; actions: Array<{ t: number; a: Action }> } {
  const steering = new Steering(cfg);
  const actions: Array<{ t: number; a: Action }> = [];
  for (const s of samples) for (const a of steering.next(s)) actions.push({ t: s.t, a });
  return { steering, actions };
}

describe('virsh_migrate steering policy', () => {
  it('precopy: no steering, abort at the completion timeout', () => {
    const { actions, steering } = feed({ ...base, policy: 'precopy', completionTimeoutS: 30 }, stuck(60));
    assert.deepEqual(actions.map((x) => x.a.kind), ['abort']);
    assert.equal(actions[0].t, 30);
    assert.match((actions[0].a as { why: string }).why, /completion timeout: not done after 30 s/);
    assert.equal(steering.initialDowntimeMs(), 500, 'precopy sets the maximum at the start');
    assert.equal(steering.strategy(false), 'precopy');
  });

  it('precopy: abort at the progress timeout when the data remaining stops falling', () => {
    const flat = Array.from({ length: 100 }, (_, i) => ({ t: (i + 1) * 0.5, iteration: 2, remaining: 64 * MiB }));
    const { actions } = feed({ ...base, policy: 'precopy', progressTimeoutS: 20 }, flat);
    assert.equal(actions.length, 1);
    assert.equal(actions[0].a.kind, 'abort');
    assert.equal(actions[0].t, 20.5);
    assert.match((actions[0].a as { why: string }).why, /progress timeout/);
  });

  it("converge: raises the downtime along oVirt's ramp on each stall, then aborts at the completion timeout", () => {
    const { actions, steering } = feed({ ...base, completionTimeoutS: 90 }, stuck(120));
    assert.equal(steering.initialDowntimeMs(), 100);
    const downs = actions.filter((x) => x.a.kind === 'set-downtime').map((x) => (x.a as { ms: number }).ms);
    assert.deepEqual(downs, DOWNTIME_RAMP.slice(1));
    const times = actions.map((x) => x.t);
    assert.deepEqual(times, [...times].sort((a, b) => a - b));
    assert.ok(times[0] >= 6 && times[0] <= 12, `first step at ${times[0]} s`);
    const last = actions[actions.length - 1];
    assert.equal(last.a.kind, 'abort');
    assert.equal(last.t, 90);
    assert.equal(steering.strategy(false), 'raised-downtime');
    assert.match(formatStep(steering.steps[0]), /^downtime 150 ms at \d+\.\d s \(.+\)$/);
  });

  it('converge: the ramp stops at max_downtime_ms', () => {
    const { actions, steering } = feed({ ...base, maxDowntimeMs: 250, completionTimeoutS: 90 }, stuck(120));
    const downs = actions.filter((x) => x.a.kind === 'set-downtime').map((x) => (x.a as { ms: number }).ms);
    assert.deepEqual(downs, [150, 200, 250]);
    assert.ok(Math.max(...downs) <= 250);
    assert.equal(steering.initialDowntimeMs(), 100);
  });

  it('converge with allow_postcopy: post-copy once the ramp is spent, then nothing more (it cannot be aborted)', () => {
    const { actions, steering } = feed({ ...base, allowPostcopy: true, completionTimeoutS: 90 }, stuck(120));
    const kinds = actions.map((x) => x.a.kind);
    assert.deepEqual(kinds, [...DOWNTIME_RAMP.slice(1).map(() => 'set-downtime'), 'postcopy']);
    assert.ok(!steering.inPostcopy, 'requested is not confirmed');
    assert.ok(steering.switchingToPostcopy);
    steering.postcopyResult(true);
    assert.ok(steering.inPostcopy);
    assert.equal(steering.strategy(false), 'postcopy');
    assert.ok(actions[actions.length - 1].t < 90);
  });

  it('post-copy refused by libvirt: not recorded, steering resumes and the completion timeout aborts', () => {
    const steering = new Steering({ ...base, allowPostcopy: true, completionTimeoutS: 90 });
    const kinds: string[] = [];
    for (const s of stuck(120)) {
      for (const a of steering.next(s)) {
        kinds.push(a.kind);
        if (a.kind === 'postcopy') {
          assert.deepEqual(steering.next({ ...s, t: s.t + 0.1 }), [], 'no steering while the request is out');
          steering.postcopyResult(false);
        }
      }
    }
    assert.deepEqual(kinds, [...DOWNTIME_RAMP.slice(1).map(() => 'set-downtime'), 'postcopy', 'abort']);
    assert.ok(!steering.inPostcopy);
    assert.notEqual(steering.strategy(false), 'postcopy');
    assert.match(formatStep(steering.steps[steering.steps.length - 1]), /^abort at 90\.0 s \(completion timeout/);
  });

  it('converge: a migration that converges is left alone', () => {
    const { actions, steering } = feed(base, converging(30));
    assert.deepEqual(actions, []);
    assert.equal(steering.strategy(true), 'auto-converge');
  });

  it('converge: a pass not smaller than the previous one is a stall at once', () => {
    const samples: JobSample[] = [
      { t: 0.5, iteration: 1, remaining: 200 * MiB },
      { t: 1, iteration: 1, remaining: 100 * MiB },
      { t: 1.5, iteration: 2, remaining: 64 * MiB },
      { t: 2, iteration: 2, remaining: 30 * MiB },
      { t: 2.5, iteration: 3, remaining: 64 * MiB },
    ];
    const { actions } = feed(base, samples);
    assert.equal(actions.length, 1);
    assert.equal(actions[0].t, 2.5);
    assert.deepEqual(actions[0].a, { kind: 'set-downtime', ms: 150, why: 'pass 3 is not smaller than pass 2' });
  });

  it('postcopy: switches after the first full pass', () => {
    const { actions } = feed({ ...base, policy: 'postcopy' }, stuck(20));
    assert.equal(actions.length, 1);
    assert.equal(actions[0].a.kind, 'postcopy');
    assert.equal(actions[0].t, 6);
  });
});
