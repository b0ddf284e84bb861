// The shared fixture run records of the report tests, loaded fresh (tests mutate copies).
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import type { RunRecord, TaskEvent } from '../../engine/results.js';

export const loadRecord = (name = 'check-3-hosts.json'): RunRecord => JSON.parse(readFileSync(rootPath('test/fixtures/report', name), 'utf8')) as RunRecord;

export function eventOf(host: string, task: string, result: Partial<TaskEvent['result']>): TaskEvent {
  return {
    play: 'Hypervisor tuning',
    task,
    module: 'sysctl',
    host,
    startedAt: '2026-11-24T08:00:01.000Z',
    result: { status: 'ok', changes: [], warnings: [], check: true, durationMs: 5, ...result },
  };
}
