import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlayError } from '../../engine/errors.js';
import type { RunRecord } from '../../engine/results.js';
import { defaultStateDir, historyDir, historyKey, loadRuns, sanitizeRecord, saveRun } from '../../engine/report/index.js';
import { loadRecord } from './report-fixture.js';

function at(rec: RunRecord, iso: string): RunRecord {
  return { ...structuredClone(rec), startedAt: iso };
}

describe('history', () => {
  let state: string;
  beforeEach(() => (state = mkdtempSync(join(tmpdir(), 'play-state-'))));
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  it('defaults to $XDG_STATE_HOME/play, else ~/.local/state/play', () => {
    assert.equal(defaultStateDir({ XDG_STATE_HOME: '/var/state' }), '/var/state/play');
    assert.equal(defaultStateDir({}), join(homedir(), '.local/state/play'));
    // The XDG spec ignores relative paths.
    assert.equal(defaultStateDir({ XDG_STATE_HOME: 'rel' }), join(homedir(), '.local/state/play'));
  });

  it('keys by the resolved playbook and inventories, with a readable name', () => {
    const k = historyKey('/srv/pb/hv tuning.yml', ['/srv/inv/prod.ini', '/srv/inv/group_vars']);
    assert.match(k.name, /^hv_tuning--prod--group_vars-[0-9a-f]{16}$/);
    assert.equal(historyKey('/srv/pb/x/../hv tuning.yml', ['/srv/inv/prod.ini', '/srv/inv/group_vars']).hash, k.hash);
    assert.notEqual(historyKey('/srv/pb/hv tuning.yml', ['/srv/inv/staging.ini', '/srv/inv/group_vars']).hash, k.hash);
    assert.notEqual(historyKey('/srv/pb2/hv tuning.yml', ['/srv/inv/prod.ini', '/srv/inv/group_vars']).hash, k.hash);
  });

  it('writes the record host by host, byte for byte what one JSON.stringify of the sanitized record gives', () => {
    const rec = { ...loadRecord(), interrupted: 'SIGINT' };
    const file = saveRun(state, rec);
    assert.equal(readFileSync(file, 'utf8'), JSON.stringify(sanitizeRecord(rec)) + '\n');
    const none = { ...rec, hosts: {} };
    assert.equal(readFileSync(saveRun(state, none), 'utf8'), JSON.stringify(sanitizeRecord(none)) + '\n');
  });

  it('saves sanitized records and loads them newest first', () => {
    const rec = loadRecord();
    const f1 = saveRun(state, at(rec, '2026-11-24T08:00:00.000Z'));
    const f2 = saveRun(state, at(rec, '2026-11-24T08:15:00.000Z'));
    assert.equal(statSync(f1).mode & 0o777, 0o600);
    const text = readFileSync(f2, 'utf8');
    for (const secret of ['REGISTERED_SECRET_VALUE', 'SECRET_IN_FILE_CONTENT']) assert.ok(!text.includes(secret), secret);
    const runs = loadRuns(state, rec.playbook, rec.inventory);
    assert.deepEqual(runs.map((r) => r.startedAt), ['2026-11-24T08:15:00.000Z', '2026-11-24T08:00:00.000Z']);
    assert.deepEqual(runs[0].hosts.hv2.tasks[1].result.changes[0], { path: 'runtime net.ipv4.tcp_rmem', from: '4096\t131072\t6291456', to: '4096 87380 16777216' });
    assert.equal(runs[0].hosts.hv2.tasks[1].result.data, undefined);
    const key = JSON.parse(readFileSync(join(historyDir(state, rec.playbook, rec.inventory), 'key.json'), 'utf8'));
    assert.deepEqual([key.playbook, key.inventory], [rec.playbook, rec.inventory]);
  });

  it('keeps the last N runs per playbook + inventory, and nothing of other keys', () => {
    const rec = loadRecord();
    for (let i = 0; i < 5; i++) saveRun(state, at(rec, `2026-11-24T08:0${i}:00.000Z`), 3);
    const other = { ...at(rec, '2026-11-24T09:00:00.000Z'), inventory: ['/srv/inv/staging.ini'] };
    saveRun(state, other, 3);
    assert.deepEqual(loadRuns(state, rec.playbook, rec.inventory).map((r) => r.startedAt), ['2026-11-24T08:04:00.000Z', '2026-11-24T08:03:00.000Z', '2026-11-24T08:02:00.000Z']);
    assert.equal(loadRuns(state, rec.playbook, ['/srv/inv/staging.ini']).length, 1);
    assert.equal(readdirSync(join(state, 'runs')).length, 2);
    assert.ok(readdirSync(historyDir(state, rec.playbook, rec.inventory)).every((f) => !f.endsWith('.tmp')));
  });

  it('has nothing for a playbook never run', () => {
    assert.deepEqual(loadRuns(state, '/nowhere.yml', ['/inv']), []);
    assert.equal(existsSync(join(state, 'runs')), false);
  });

  it('names a damaged history file instead of failing obscurely', () => {
    const rec = loadRecord();
    saveRun(state, rec);
    const dir = historyDir(state, rec.playbook, rec.inventory);
    const bad = join(dir, '2026-11-24T09-00-00.000Z-0000abcd.json');
    writeFileSync(bad, '{"tool":');
    assert.throws(() => loadRuns(state, rec.playbook, rec.inventory), (e: unknown) => e instanceof PlayError && e.message.includes(bad));
    writeFileSync(bad, '{"tool":"other"}');
    assert.throws(() => loadRuns(state, rec.playbook, rec.inventory), /is not a play run record/);
  });

  it('refuses a keep below 1', () => {
    assert.throws(() => saveRun(state, loadRecord(), 0), /keep must be a whole number/);
  });
});
