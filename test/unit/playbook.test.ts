import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPlaybook } from '../../engine/playbook/load.js';
import { PlayError, ValidationError, formatProblem } from '../../engine/errors.js';
import type { Block, FlushHandlers, Task } from '../../engine/playbook/types.js';
import { rootPath } from '../../engine/paths.js';
import { registerTestModules } from './playbook-test-modules.js';

const BROKEN = rootPath('test', 'fixtures', 'playbooks', 'broken');
const VALID = rootPath('test', 'fixtures', 'playbooks', 'valid', 'site.yml');
const known = () => new Set(['migration_ip', 'mtu']);

/** Messages with the checkout's absolute prefix removed, so expected files are portable. */
function problemsOf(file: string, opts: Parameters<typeof loadPlaybook>[1] = { knownVariables: known }): string[] {
  try {
    loadPlaybook(file, opts);
  } catch (e) {
    assert.ok(e instanceof ValidationError, `expected a ValidationError, got ${String(e)}`);
    assert.equal(e.message, e.problems.map(formatProblem).join('\n'));
    return e.problems.map((p) => formatProblem(p).replace(`${rootPath()}/`, ''));
  }
  return [];
}

describe('playbook loading: broken playbooks report every problem with file:line:col', () => {
  let unregister: () => void;
  before(() => (unregister = registerTestModules()));
  after(() => unregister());

  const cases = readdirSync(BROKEN).filter((f) => f.endsWith('.yml'));
  it('has a fixture for each kind of mistake', () => assert.ok(cases.length >= 10));
  for (const f of cases) {
    it(f, () => {
      const expected = readFileSync(join(BROKEN, f.replace(/\.yml$/, '.expected')), 'utf8').trimEnd().split('\n');
      assert.deepEqual(problemsOf(join(BROKEN, f)), expected);
    });
  }

  it('skips the undefined-variable check when the inventory names are unknown, but not syntax checks', () => {
    assert.deepEqual(problemsOf(join(BROKEN, 'undefined-vars.yml'), {}), []);
    assert.deepEqual(problemsOf(join(BROKEN, 'undefined-vars.yml'), { knownVariables: () => undefined }), []);
    assert.equal(problemsOf(join(BROKEN, 'bad-when.yml'), {}).length, 3);
  });

  it('accepts names the inventory (or -e) defines', () => {
    const names = new Set(['migration_ip', 'iface', 'mtu_target', 'nics', 'link_speed', 'uptime_changed', 'item']);
    assert.deepEqual(problemsOf(join(BROKEN, 'undefined-vars.yml'), { knownVariables: () => names }), []);
  });

  it('reports a host pattern the inventory rejects at the hosts key', () => {
    const problems = problemsOf(VALID, {
      knownVariables: () => {
        throw new PlayError("pattern 'hypervisors:!hv3' matches no group");
      },
    });
    assert.deepEqual(problems, ["test/fixtures/playbooks/valid/site.yml:3:3: hosts: pattern 'hypervisors:!hv3' matches no group"]);
  });

  it('a missing file is a ValidationError naming it', () => {
    assert.deepEqual(problemsOf(join(BROKEN, 'nope.yml')), ['test/fixtures/playbooks/broken/nope.yml: cannot read file: ENOENT']);
  });
});

describe('playbook loading: the valid playbook', () => {
  let unregister: () => void;
  before(() => (unregister = registerTestModules()));
  after(() => unregister());

  it('loads into the typed structure the runner executes', () => {
    const pb = loadPlaybook(VALID, { knownVariables: () => new Set(['inventory_hostname']) });
    assert.equal(pb.file, VALID);
    assert.equal(pb.dir, rootPath('test', 'fixtures', 'playbooks', 'valid'));
    assert.equal(pb.plays.length, 1);
    const play = pb.plays[0];
    assert.equal(play.name, 'Tune the hypervisors');
    assert.equal(play.hosts, 'hypervisors:!hv3');
    // vars_files override play vars, in order.
    assert.deepEqual(play.vars, { migration_mtu: 9000, nic: 'eth1', peers: ['hv1', 'hv2'] });
    assert.deepEqual(play.varsFiles, [rootPath('test', 'fixtures', 'playbooks', 'valid', 'vars', 'common.yml')]);
    assert.equal(play.become, true);
    assert.equal(play.becomeUser, 'root');
    assert.equal(play.gatherFacts, false);
    assert.deepEqual(play.serial, [1, '50%']);
    assert.equal(play.maxFailPercentage, 25);
    assert.equal(play.anyErrorsFatal, true);
    assert.equal(play.strategy, 'free');
    assert.deepEqual(play.tags, ['tune', 'network']);
    assert.deepEqual(play.pos, { file: VALID, line: 2, col: 3 });
    assert.deepEqual(play.keyPos.serial, { file: VALID, line: 12, col: 3 });

    // pre_tasks + tasks + post_tasks, in that order.
    assert.deepEqual(play.tasks.map((t) => t.kind), ['task', 'task', 'task', 'block', 'task']);
    const [hello, mtu, ping, block, bye] = play.tasks as [Task, Task, Task, Block, Task];
    assert.equal(hello.module, 't_command', 'ansible.builtin.X maps to our X');
    assert.deepEqual(hello.params, { cmd: 'echo hello' });
    assert.deepEqual(hello.paramPos.cmd, { file: VALID, line: 19, col: 7 });

    assert.equal(mtu.name, 'Set MTU');
    assert.deepEqual(mtu.params, { name: 'mtu.{{ nic }}', value: '{{ migration_mtu }}', rings: { rx: 4096 } });
    assert.deepEqual(mtu.paramPos['rings.rx'], { file: VALID, line: 26, col: 11 });
    assert.deepEqual(mtu.paramPos.value, { file: VALID, line: 24, col: 9 });
    assert.deepEqual(mtu.when, ['migration_mtu is defined', "nic != 'lo'"]);
    assert.equal(mtu.register, 'mtu_result');
    assert.deepEqual(mtu.notify, ['restart network']);
    assert.deepEqual(mtu.tags, ['mtu']);
    assert.equal(mtu.timeout, 30);
    assert.equal(mtu.loop, undefined);
    assert.equal(mtu.loopVar, 'item');
    assert.equal(mtu.delay, 5, "Ansible's default delay");
    assert.equal(mtu.until, undefined);
    assert.deepEqual(mtu.keyPos.when, { file: VALID, line: 27, col: 7 });

    assert.deepEqual(ping.params, { chdir: '/tmp', cmd: 'ping -c1 {{ peer }}' });
    assert.equal(ping.loop, '{{ peers }}');
    assert.equal(ping.loopVar, 'peer');
    assert.equal(ping.retries, 2);
    assert.deepEqual(ping.until, [true], 'retries without until: retry until it succeeds');
    assert.equal(ping.delay, 0);
    assert.deepEqual(ping.changedWhen, [false]);
    assert.deepEqual(ping.failedWhen, ['ping_result.rc != 0']);
    assert.equal(ping.ignoreErrors, '{{ ansible_check_mode }}');

    assert.equal(block.name, 'Grouped');
    assert.deepEqual(block.when, ['tuned is not defined']);
    assert.deepEqual(block.vars, { stage: 'one' });
    assert.equal(block.become, false);
    assert.equal(block.delegateTo, '{{ peers.[0] }}');
    assert.equal(block.checkMode, true);
    assert.deepEqual(block.block.map((t) => (t as Task).module), ['t_set_fact', 't_command']);
    assert.deepEqual((block.block[1] as Task).loop, ['a', 'b'], 'with_items is loop');
    assert.deepEqual((block.rescue[0] as Task).notify, ['reload firewall']);
    assert.equal((block.always[0] as FlushHandlers).kind, 'flush_handlers');

    assert.equal(bye.runOnce, true);
    assert.deepEqual(
      play.handlers.map((h) => [h.name, h.listen]),
      [
        ['restart network', []],
        ['reload nftables', ['reload firewall']],
      ],
    );
  });
});
