// prepareRun's checks that need the inventory: every problem found before any host is touched.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { prepareRun } from '../../engine/runner/run.js';
import { ValidationError, formatProblem } from '../../engine/errors.js';
import { rootPath } from '../../engine/paths.js';

const HOSTS = rootPath('test', 'fixtures', 'playbooks', 'hosts');

/** prepareRun's problems with the checkout's absolute prefix removed, so expected files are portable. */
function problemsOf(playbook: string, inventory: string, more: { limit?: string; extraVars?: Record<string, unknown> } = {}): string[] {
  try {
    prepareRun({ playbook, inventories: [inventory], extraVars: more.extraVars ?? {}, limit: more.limit });
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    return e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, ''));
  }
  return [];
}

const expected = (path: string): string[] => readFileSync(path, 'utf8').trimEnd().split('\n');

describe('validate: a variable must be defined on every host a task runs on', () => {
  const playbook = `${HOSTS}/per-host.yml`;
  const inventory = `${HOSTS}/inventory.ini`;

  it('names the hosts lacking it; when/default/if/block guards stay allowed, the loop is not guarded', () => {
    assert.deepEqual(problemsOf(playbook, inventory), expected(`${HOSTS}/per-host.expected`));
  });

  it('--limit to the hosts that have it: only the name undefined everywhere is left', () => {
    const problems = problemsOf(playbook, inventory, { limit: 'hv-dc1-r1-01:hv-dc1-r1-02' });
    assert.deepEqual(problems, [expected(`${HOSTS}/per-host.expected`)[3]]);
  });

  it('-e defines it on every host', () => {
    const problems = problemsOf(playbook, inventory, { extraVars: { migration_ip: '198.18.0.9', migration_ipp: 1 } });
    assert.deepEqual(problems, []);
  });
});

describe('validate: register and set_fact names carry into later plays', () => {
  const dir = rootPath('test', 'fixtures', 'playbooks', 'plays');

  it('a later play may use them; an earlier play may not use what a later one sets', () => {
    assert.deepEqual(problemsOf(`${dir}/carried.yml`, `${dir}/inventory.ini`), [
      "test/fixtures/playbooks/plays/carried.yml:6:15: undefined variable 'late_fact' in task 'debug' (field msg)",
    ]);
  });
});
