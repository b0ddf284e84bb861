// virsh_migrate's diff on states read from captured virsh output: a migration under way (post-copy
// on the destination, the source paused for migration, or a job on the source) is "migration in
// progress", never "in sync" (reasons as virsh domstate --reason prints them on the lab: "paused (migrating)") — a rerun during post-copy must not report ok, 0 changes.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { migrateDiff, migrationInProgress, type MigrateState } from '../../modules/virsh_migrate/index.js';
import { parseDomInfo, parseJobInfo } from '../../modules/virsh_migrate/parse.js';
import type { MigrateParams } from '../../modules/virsh_migrate/params.js';

const fixture = (f: string) => readFileSync(rootPath('test', 'fixtures', 'virsh_migrate', f), 'utf8');
const running = parseDomInfo(fixture('dominfo-lab.txt'));
const paused = { ...running, state: 'paused' };
const p = { domain: 'g1', to: 'hv2' } as MigrateParams;
const base: MigrateState = { srcName: 'hv1', dstName: 'hv2', destUri: 'qemu+tls://x/system', onSource: paused, onDest: running, job: parseJobInfo(fixture('jobinfo-none.txt')), srcReason: 'paused (post-copy)', dstReason: 'running (post-copy)' };

describe('virsh_migrate diff: a migration under way is never in sync', () => {
  it('post-copy: destination running (post-copy), source paused (post-copy): migration in progress', () => {
    const d = migrateDiff(base, p);
    assert.deepEqual(d.changes, []);
    assert.match(d.failures![0], /^migration in progress: g1 runs on hv2 in post-copy \(part of its memory is still on hv1\); not in sync/);
  });

  it('a rerun on `to` itself during post-copy fails the same way', () => {
    const d = migrateDiff({ ...base, self: true, onSource: null, srcReason: undefined }, p);
    assert.match(d.failures![0], /^migration in progress: g1 runs on hv2 in post-copy \(part of its memory is still on the source\)/);
  });

  it('the source paused for migration, or a job on the source: migration in progress', () => {
    assert.equal(migrationInProgress({ ...base, dstReason: 'paused (migrating)', srcReason: 'paused (migrating)' }, 'g1'), 'g1 is paused (migrating) on hv1');
    const job = parseJobInfo(fixture('jobinfo-running-pass1.txt'));
    const d = migrateDiff({ ...base, onSource: running, onDest: null, srcReason: 'running (booted)', dstReason: '', job }, p);
    assert.match(d.failures![0], /^migration in progress: a migration job is running for g1 on hv1 \(\d+ s elapsed, \d+% done\)/);
  });

  it('done: running (migrated) on the destination, gone from the source: in sync', () => {
    const d = migrateDiff({ ...base, onSource: null, srcReason: '', dstReason: 'running (migrated)' }, p);
    assert.deepEqual(d, { changes: [] });
  });
});
