// Bad input (issue 8 §3): every mistake refused by validation with file:line:col, before any host
// is touched; the same checks guard values that only templates produce, at run time.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { prepareRun } from '../../engine/runner/run.js';
import { ValidationError, formatProblem } from '../../engine/errors.js';
import { rootPath } from '../../engine/paths.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { getModule } from '../../modules/index.js';
import { parseExtraVars } from '../../engine/cli/extra-vars.js';
import { connectionSpecFor } from '../../engine/connection/spec.js';
import { renderConnectionVars } from '../../engine/connection/templated-vars.js';
import { interfaceNameProblem } from '../../engine/module/name-rules.js';
import { diffContent, type ContentParams } from '../../modules/copy/content-file.js';
import { MAX_DIFF_BYTES } from '../../modules/lib/files/path-info.js';
import { unifiedDiffs } from '../../engine/output/format.js';
import type { TaskResult } from '../../engine/results.js';
import { MAX_YAML_BYTES, YamlDoc, aliasRatioAllowed } from '../../engine/yaml.js';

const DIR = rootPath('test', 'fixtures', 'playbooks', 'bad-input');
const INVENTORY = `${DIR}/inventory.ini`;

/** prepareRun's problems, paths relative to the checkout. */
function problemsOf(playbook: string, extraVars: Record<string, unknown> = {}, inventory = INVENTORY): string[] {
  try {
    prepareRun({ playbook: `${DIR}/${playbook}`, inventories: [inventory], extraVars });
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

describe('bad input: cross-parameter mistakes found by the modules (validate → {field, message})', () => {
  it('each names its module and field once, at the field\'s own file:line:col', () => {
    const lines = problemsOf('module-checks.yml');
    assert.deepEqual(lines, expected('module-checks.expected'));
    for (const l of lines) {
      const m = /^test\/fixtures\/playbooks\/bad-input\/module-checks\.yml:\d+:\d+: (\w+)(?:\.(.+?))?: (.*)$/.exec(l);
      assert.ok(m, l);
      const [, mod, field, message] = m;
      assert.ok(!message.startsWith(`${mod}`) && !field?.startsWith(`${mod}.`), `the module named twice: ${l}`);
      if (field) assert.ok(!message.startsWith(`${field.split('.')[0]}:`), `the field named twice: ${l}`);
    }
  });
});

describe('bad input: YAML alias bombs and huge documents', () => {
  it('refuses a 9-level alias bomb in a playbook quickly, at the alias that goes too far', () => {
    const t0 = Date.now();
    assert.deepEqual(problemsOf('alias-bomb.yml'), expected('alias-bomb.expected'));
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('refuses the same bomb through -e @file', () => {
    const t0 = Date.now();
    assert.throws(
      () => parseExtraVars([`@${DIR}/alias-bomb-vars.yml`]),
      (e: unknown) => e instanceof ValidationError && /alias-bomb-vars\.yml:4:10: YAML aliases expand this document to over \d+ nodes/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('accepts anchors as operators use them (one defaults block merged into 200 entries)', () => {
    assert.deepEqual(problemsOf('anchors-ok.yml'), []);
  });

  it('the allowed share of aliased nodes slides from 99% to 10% as the document grows, as in go-yaml', () => {
    assert.equal(aliasRatioAllowed(1000), 0.99);
    assert.equal(aliasRatioAllowed(4_000_000), 0.1);
    assert.ok(Math.abs(aliasRatioAllowed(2_200_000) - 0.545) < 1e-9);
  });

  it('refuses nesting deeper than 500 levels at the level that goes too deep (js-yaml would overflow its stack)', () => {
    const flow = `x: ${'['.repeat(50_000)}${']'.repeat(50_000)}\n`;
    assert.throws(() => new YamlDoc('deep.yml', flow), /^ValidationError: deep\.yml:1:503: YAML nested more than 500 levels deep: refused$/);
    const block = Array.from({ length: 3000 }, (_, i) => `${'  '.repeat(i)}a:`).join('\n');
    assert.throws(() => new YamlDoc('deep.yml', block), /^ValidationError: deep\.yml:500:\d+: YAML nested more than 500 levels deep: refused$/);
    const ok = `x: ${'['.repeat(400)}1${']'.repeat(400)}\n`;
    assert.doesNotThrow(() => new YamlDoc('ok.yml', ok));
  });

  it('refuses a document over the size limit before parsing it', () => {
    const text = `x: "${'a'.repeat(MAX_YAML_BYTES)}"\n`;
    assert.throws(() => new YamlDoc('big.yml', text), /^ValidationError: big\.yml: file too large for a YAML document: \d+ bytes, the limit is 33554432$/);
  });
});

describe('bad input: become and connection keywords', () => {
  it('become_user is a user name or a template whose names must be defined; at play, block and task', () => {
    assert.deepEqual(problemsOf('become.yml', { dba: 'postgres' }), expected('become.expected'));
  });

  it('become and become_user templates whose values the vars fix are checked at validation', () => {
    assert.deepEqual(problemsOf('become-known.yml'), expected('become-known.expected'));
  });

  it('templated connection variables are rendered with the host variables; flags and users are checked', () => {
    try {
      prepareRun({ playbook: `${DIR}/whoami.yml`, inventories: [`${DIR}/connection.ini`], extraVars: {} });
      assert.fail('expected a ValidationError');
    } catch (e) {
      assert.ok(e instanceof ValidationError, String(e));
      assert.deepEqual(e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, '')), expected('connection.expected'));
    }
  });

  it('a connection variable holding a NUL or a line break is refused without echoing it (it may be a password)', () => {
    try {
      prepareRun({ playbook: `${DIR}/whoami.yml`, inventories: [`${DIR}/connection-lines.yml`], extraVars: {} });
      assert.fail('expected a ValidationError');
    } catch (e) {
      assert.ok(e instanceof ValidationError, String(e));
      assert.deepEqual(e.problems.map((p) => formatProblem(p).replaceAll(`${rootPath()}/`, '')), [
        'test/fixtures/playbooks/bad-input/connection-lines.yml: host h1: ansible_become_password: must be one line: it contains a line break at character 7',
        'test/fixtures/playbooks/bad-input/connection-lines.yml: host h1: ansible_user: must be one line: it contains a NUL byte at character 4',
      ]);
      assert.doesNotMatch(e.message, /s3cret/);
    }
  });

  it('ansible_become_flags become quoted words: options and their arguments only', () => {
    const spec = (flags: string) => connectionSpecFor('h', { ansible_connection: 'local', ansible_become_flags: flags }).become.flags;
    assert.equal(spec('-H  --preserve-env=PATH,HOME'), '-H --preserve-env=PATH,HOME');
    assert.equal(spec('-g "wheel"'), '-g wheel');
    assert.throws(() => spec('-H $(reboot)'), /ansible_become_flags: "\$\(reboot\)" is not a sudo option or argument/);
    assert.throws(() => spec('reboot'), /ansible_become_flags must be sudo options \(starting with '-'\), got 'reboot'/);
  });

  it('renders a connection variable naming another templated one; an undefined name is refused by name', () => {
    const vars = renderConnectionVars('h', { ansible_user: '{{admin}}', admin: '{{base}}', base: 'ops', ansible_port: '{{p}}', p: 2222 });
    assert.equal(vars.ansible_user, 'ops');
    assert.equal(vars.ansible_port, 2222);
    assert.throws(() => renderConnectionVars('h', { ansible_host: '{{nope}}' }), /^PlayError: host h: ansible_host: cannot render "\{\{nope\}\}": undefined variable 'nope'$/);
  });
});

describe('bad input: names, ranges and formats, not only types', () => {
  it('interface names, MTU range, ports, owners, modes and sysctl keys, each with the rule it breaks', () => {
    assert.deepEqual(problemsOf('names.yml'), expected('names.expected'));
  });

  it('a templated parameter whose value the vars or -e fix is checked like a literal; run-time names are left alone', () => {
    assert.deepEqual(problemsOf('known-values.yml', { from_e: 70000 }), expected('known-values.expected'));
    // With a good -e value the task-vars case is fine: -e wins over the task's vars.
    assert.equal(problemsOf('known-values.yml', { from_e: 9000 }).filter((p) => p.includes('from_e')).length, 0);
  });

  it('values the inventory gives each host are checked too, naming the hosts; play vars win over them', () => {
    assert.deepEqual(problemsOf('inventory-values.yml', {}, `${DIR}/inventory-values.ini`), expected('inventory-values.expected'));
  });

  it('interface name rules: 15 bytes, no whitespace, / or :, nothing a shell would see', () => {
    assert.equal(interfaceNameProblem('eth0.100'), undefined);
    assert.equal(interfaceNameProblem('br-lan_2@x+y'), undefined);
    assert.equal(interfaceNameProblem('abcdefghijklmno'), undefined);
    assert.match(interfaceNameProblem('abcdefghijklmnop')!, /16 bytes, Linux allows at most 15/);
    assert.match(interfaceNameProblem('eth$(x)')!, /"\$" is outside letters, digits and _ \. @ \+ -/);
    assert.match(interfaceNameProblem('..')!, /the kernel refuses/);
    assert.match(interfaceNameProblem('a:b')!, /Linux refuses ":"/);
  });
});

describe('--diff says when it omits content', () => {
  const info = { path: '/etc/big', self: null, target: null, parentExists: true };
  const diffOf = (current: Buffer | null, want: Buffer) => diffContent({ info, current, want }, { dest: '/etc/big' } as ContentParams).changes[0];

  it('names the side and the reason: size over the limit, NUL bytes, invalid UTF-8', () => {
    const big = Buffer.alloc(MAX_DIFF_BYTES + 1, 'x');
    assert.equal(diffOf(Buffer.from('old\n'), big).diffOmitted, `new content: ${MAX_DIFF_BYTES + 1} bytes, over the 1048576-byte limit for diffs`);
    assert.equal(diffOf(Buffer.from([0, 1]), Buffer.from([0xff, 0x41])).diffOmitted, 'old content: binary content (it holds NUL bytes); new content: binary content (not valid UTF-8)');
    const text = diffOf(Buffer.from('a\n'), Buffer.from('b\n'));
    assert.equal(text.diffOmitted, undefined);
    assert.equal(text.after, 'b\n');
  });

  it('the --diff output prints the notice where the diff would be', () => {
    const result = { diffs: [{ path: '/etc/big', before: '', after: '', omitted: 'new content: 52428800 bytes, over the 1048576-byte limit for diffs' }] } as unknown as TaskResult;
    assert.deepEqual(unifiedDiffs(result), ['diff of /etc/big omitted: new content: 52428800 bytes, over the 1048576-byte limit for diffs']);
  });
});
