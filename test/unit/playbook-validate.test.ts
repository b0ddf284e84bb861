// prepareRun's checks that need the inventory: every problem found before any host is touched.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { prepareRun } from '../../engine/runner/run.js';
import { ValidationError, formatProblem } from '../../engine/errors.js';
import { rootPath } from '../../engine/paths.js';
import { loadPlaybook } from '../../engine/playbook/load.js';
import { localSrcFile } from '../../engine/playbook/src-files.js';
import type { Task } from '../../engine/playbook/types.js';
import { TEMPLATE_DIR } from '../../modules/template/index.js';

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

describe('validate: template and copy source files', () => {
  const dir = rootPath('test', 'fixtures', 'playbooks', 'files');

  it('missing files at the src parameter; undefined names and syntax errors at their place in the template', () => {
    assert.deepEqual(problemsOf(`${dir}/templates.yml`, `${dir}/inventory.ini`), expected(`${dir}/templates.expected`));
  });

  it('without the inventory names, files and template syntax are still checked', () => {
    try {
      loadPlaybook(`${dir}/templates.yml`);
      assert.fail('expected a ValidationError');
    } catch (e) {
      assert.ok(e instanceof ValidationError);
      const lines = e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, ''));
      assert.deepEqual(lines, expected(`${dir}/templates.expected`).filter((l) => !l.includes('undefined variable')));
    }
  });

  it("finds src in the project's templates/ when the playbook's directory lacks it, as the module does", () => {
    const name = readdirSync(TEMPLATE_DIR).find((f) => statSync(`${TEMPLATE_DIR}/${f}`).isFile());
    assert.ok(name, 'templates/ has a file');
    const task = { kind: 'task', module: 'template', params: { src: name, dest: '/etc/x' } } as unknown as Task;
    const found = localSrcFile(task, dir);
    assert.deepEqual(found && 'path' in found ? found.path : found, `${TEMPLATE_DIR}/${name}`);
    assert.equal(localSrcFile({ ...task, module: 'copy' }, dir) && 'problem' in localSrcFile({ ...task, module: 'copy' }, dir)!, true, 'copy has no templates/ fallback');
  });
});

describe('validate: connection variables of every host the plays select', () => {
  const dir = rootPath('test', 'fixtures', 'playbooks', 'connection');
  it('reports each mistake of each host, one line for a mistake a whole group shares; unselected hosts are not read', () => {
    assert.deepEqual(problemsOf(`${dir}/site.yml`, `${dir}/inventory.ini`), expected(`${dir}/site.expected`));
  });

  it('--limit leaves out the hosts it excludes; -e overrides the inventory as at run time', () => {
    assert.deepEqual(problemsOf(`${dir}/site.yml`, `${dir}/inventory.ini`, { limit: 'hv1:hv2' }), [
      "test/fixtures/playbooks/connection/inventory.ini: host hv2: ansible_connection 'telnet' is not supported: use ssh or local",
    ]);
    assert.deepEqual(problemsOf(`${dir}/site.yml`, `${dir}/inventory.ini`, { limit: 'hv1:hv2', extraVars: { ansible_connection: 'local' } }), []);
  });
});
