// The `junit=PATH` report: one testsuite per host, one testcase per task, for CI dashboards.
// Drift is a failure (the differences are the message), unreachable and failed tasks are errors,
// tasks that could not be checked are skipped with the reason.
import { resolve } from 'node:path';
import { formatChange } from '../module/contract.js';
import type { RunRecord } from '../results.js';
import { stateChanges, hostRows, type TaskRow } from './verdict.js';
import { xmlAttrs, xmlText } from './xml.js';

const seconds = (ms: number) => (ms / 1000).toFixed(3);

function testcase(host: string, row: TaskRow): string {
  const res = row.event?.result;
  const attrs = xmlAttrs({ name: `${row.play}: ${row.task}`, classname: host, time: seconds(res?.durationMs ?? 0) });
  const body: string[] = [];
  switch (row.verdict) {
    case 'drift': {
      const changes = stateChanges(res!.changes);
      const text = changes.map(formatChange).join('\n');
      const n = changes.length;
      body.push(`<failure type="drift"${xmlAttrs({ message: `${n} difference${n === 1 ? '' : 's'}: ${changes.map(formatChange).join('; ')}` })}>${xmlText(text)}</failure>`);
      break;
    }
    case 'error':
      body.push(`<error type="failed"${xmlAttrs({ message: row.reason })}>${xmlText(res?.msg ?? row.reason ?? '')}</error>`);
      break;
    case 'unknown':
      if (res?.status === 'unreachable') body.push(`<error type="unreachable"${xmlAttrs({ message: row.reason })}>${xmlText(res.msg ?? '')}</error>`);
      else body.push(`<skipped${xmlAttrs({ message: row.reason })}/>`);
      break;
    case 'changed':
      body.push(`<system-out>${xmlText(res!.changes.map(formatChange).join('\n'))}</system-out>`);
      break;
    case 'in-sync':
      break;
  }
  if (res?.warnings.length) body.push(`<system-err>${xmlText(res.warnings.map((w) => `warning: ${w}`).join('\n'))}</system-err>`);
  return body.length ? `    <testcase${attrs}>\n      ${body.join('\n      ')}\n    </testcase>` : `    <testcase${attrs}/>`;
}

export function renderJunit(record: RunRecord): string {
  const suites: string[] = [];
  const total = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const h of hostRows(record)) {
    const count = {
      tests: h.rows.length,
      failures: h.rows.filter((r) => r.verdict === 'drift').length,
      errors: h.rows.filter((r) => r.verdict === 'error' || (r.verdict === 'unknown' && r.event?.result.status === 'unreachable')).length,
      skipped: h.rows.filter((r) => r.verdict === 'unknown' && r.event?.result.status !== 'unreachable').length,
    };
    for (const k of Object.keys(total) as Array<keyof typeof total>) total[k] += count[k];
    const time = h.rows.reduce((s, r) => s + (r.event?.result.durationMs ?? 0), 0);
    const started = h.record.tasks[0]?.startedAt ?? record.startedAt;
    const attrs = xmlAttrs({ name: h.host, ...count, time: seconds(time), timestamp: started.slice(0, 19), hostname: h.host, package: 'play' });
    const props = `    <properties>\n${[
      ['playbook', record.playbook],
      ['inventory', record.inventory.map((i) => resolve(i)).join(',')],
      ['command', record.command],
      ['verdict', h.verdict],
      ...(record.interrupted ? [['interrupted', record.interrupted]] : []),
    ]
      .map(([name, value]) => `      <property${xmlAttrs({ name, value })}/>`)
      .join('\n')}\n    </properties>`;
    suites.push(`  <testsuite${attrs}>\n${props}\n${h.rows.map((r) => testcase(h.host, r)).join('\n')}\n  </testsuite>`);
  }
  const name = `play ${record.command} ${record.playbook}`;
  const root = xmlAttrs({ name, tests: total.tests, failures: total.failures, errors: total.errors, time: seconds(record.durationMs) });
  return `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${root}>\n${suites.join('\n')}\n</testsuites>\n`;
}
