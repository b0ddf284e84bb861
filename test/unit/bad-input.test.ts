// Bad input (issue 8 §3): every mistake refused by validation with file:line:col, before any host
// is touched; the same checks guard values that only templates produce, at run time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { prepareRun } from '../../engine/runner/run.js';
import { ValidationError, formatProblem } from '../../engine/errors.js';
import { rootPath } from '../../engine/paths.js';
import { validateParams, type SchemaProblem } from '../../engine/schema.js';
import { getModule } from '../../modules/index.js';

const DIR = rootPath('test', 'fixtures', 'playbooks', 'bad-input');
const INVENTORY = `${DIR}/inventory.ini`;

/** prepareRun's problems, paths relative to the checkout. */
function problemsOf(playbook: string, extraVars: Record<string, unknown> = {}): string[] {
  try {
    prepareRun({ playbook: `${DIR}/${playbook}`, inventories: [INVENTORY], extraVars });
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${(e as Error).stack}`);
    return e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, ''));
  }
  return [];
}

const expected = (name: string): string[] => readFileSync(`${DIR}/${name}`, 'utf8').trimEnd().split('\n');

describe('bad input: NUL and control characters', () => {
  it('refuses NUL in any parameter and control characters in line-based file values, each at its place', () => {
    assert.deepEqual(problemsOf('control-chars.yml'), expected('control-chars.expected'));
  });

  it('the same check refuses a NUL that only a template produces (the run-time check)', () => {
    const problems: SchemaProblem[] = [];
    validateParams(getModule('ini')!.params, { path: '/tmp/x.ini', option: 'k', value: 'a\0b' }, problems);
    assert.deepEqual(problems, [{ path: ['value'], message: 'contains a NUL byte (\\0): no command, argument or file can hold one' }]);
  });
});
