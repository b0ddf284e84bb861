// Live progress of a long task (a migration) in both renderers: plain output prints it at most
// every few seconds per host (logs stay short), the terminal tree redraws the host's row.
import assert from 'node:assert/strict';
import { Chalk } from 'chalk';
import { plainRenderer } from '../../engine/output/plain.js';
import { metricsLine } from '../../engine/output/format.js';
import type { TaskEvent } from '../../engine/results.js';

const chalk = new Chalk({ level: 0 });

describe('progress and metrics in the output', () => {
  it('plain: the first progress line at once, then at most one per 5 s per host', () => {
    const lines: string[] = [];
    const r = plainRenderer({ verbose: false, diff: false, showUnchanged: true, write: (l) => lines.push(l), chalk });
    r.hostTaskProgress!('hv1', 'migrate', '10% · 200 MiB left');
    r.hostTaskProgress!('hv1', 'migrate', '20% · 180 MiB left');
    r.hostTaskProgress!('hv2', 'migrate', '5% · 250 MiB left');
    assert.deepEqual(lines, ['  … hv1: 10% · 200 MiB left', '  … hv2: 5% · 250 MiB left']);
    // A finished task resets the host: its next task's progress shows at once.
    const ev: TaskEvent = { play: 'p', task: 'migrate', module: 'virsh_migrate', host: 'hv1', startedAt: new Date().toISOString(), result: { status: 'changed', changes: [], warnings: [], check: false, durationMs: 1, metrics: { total_s: 2.74, downtime_ms: 43, strategy: 'precopy' } } };
    r.hostTaskDone!(ev, false);
    r.hostTaskProgress!('hv1', 'next', 'starting');
    assert.equal(lines[lines.length - 1], '  … hv1: starting');
    assert.ok(lines.includes('      metrics: total_s=2.74 downtime_ms=43 strategy=precopy'), lines.join('\n'));
  });

  it('metrics: numbers without float noise, strings with spaces quoted', () => {
    assert.equal(metricsLine({ total_s: 42.123000000000005, steps: 'downtime 150 ms at 3.2 s', n: 3 }), 'metrics: total_s=42.123 steps="downtime 150 ms at 3.2 s" n=3');
  });
});
