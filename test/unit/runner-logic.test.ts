import assert from 'node:assert/strict';
import { batchSizes } from '../../engine/runner/play.js';
import { numberNodes, rootInherited, walk, type Step } from '../../engine/runner/iterator.js';
import type { Block, Task, TaskNode } from '../../engine/playbook/types.js';
import type { TaskResult } from '../../engine/results.js';
import { exitCodeFor, emptyStats } from '../../engine/results.js';

const pos = { file: 'p.yml', line: 1, col: 1 };
const task = (name: string): Task => ({
  kind: 'task', name, module: 'debug', params: {}, paramPos: {}, loopVar: 'item', notify: [], delay: 5, listen: [],
  when: [], tags: [], vars: {}, pos, keyPos: {},
});
const block = (b: TaskNode[], rescue: TaskNode[] = [], always: TaskNode[] = []): Block => ({
  kind: 'block', block: b, rescue, always, when: [], tags: [], vars: {}, pos, keyPos: {},
});
const res = (status: TaskResult['status']): TaskResult => ({ status, changes: [], warnings: [], check: false, durationMs: 0 });

/** Drives a walk, failing the named tasks; returns the task names in order and the outcome. */
function drive(nodes: TaskNode[], failing: Set<string>): { ran: string[]; outcome: string } {
  const order = numberNodes(nodes);
  const gen = walk(nodes, rootInherited(), order);
  const ran: string[] = [];
  let n = gen.next(undefined);
  while (!n.done) {
    const step = n.value as Step;
    if (step.kind === 'task') {
      ran.push(step.task.name!);
      n = gen.next(res(failing.has(step.task.name!) ? 'failed' : 'ok'));
    } else n = gen.next(undefined);
  }
  return { ran, outcome: n.value };
}

describe('serial batches', () => {
  it('splits by number, percentage and list with the last entry repeating', () => {
    assert.deepEqual(batchSizes([], 7), [7]);
    assert.deepEqual(batchSizes([2], 7), [2, 2, 2, 1]);
    assert.deepEqual(batchSizes(['30%'], 10), [3, 3, 3, 1]);
    assert.deepEqual(batchSizes([1, 5, '20%'], 20), [1, 5, 4, 4, 4, 2]);
    assert.deepEqual(batchSizes(['10%'], 3), [1, 1, 1]); // never a batch of zero hosts
  });
});

describe('block / rescue / always walk', () => {
  const tree = () => [task('a'), block([task('b1'), task('b2')], [task('r1')], [task('al')]), task('z')];
  it('runs block then always, skipping rescue, when nothing fails', () => {
    assert.deepEqual(drive(tree(), new Set()), { ran: ['a', 'b1', 'b2', 'al', 'z'], outcome: 'ok' });
  });
  it('jumps to rescue on failure, runs always, and carries on (rescued)', () => {
    assert.deepEqual(drive(tree(), new Set(['b1'])), { ran: ['a', 'b1', 'r1', 'al', 'z'], outcome: 'ok' });
  });
  it('a failing rescue fails the host after always', () => {
    assert.deepEqual(drive(tree(), new Set(['b1', 'r1'])), { ran: ['a', 'b1', 'r1', 'al'], outcome: 'failed' });
  });
  it('without rescue a failure stops the host after always', () => {
    const t = [block([task('b1'), task('b2')], [], [task('al')]), task('z')];
    assert.deepEqual(drive(t, new Set(['b1'])), { ran: ['b1', 'al'], outcome: 'failed' });
  });
  it('numbers nodes depth-first so the linear strategy can order hosts', () => {
    const t = tree();
    const order = numberNodes(t);
    const b = t[1] as Block;
    assert.ok(order.get(b.block[1])! < order.get(b.rescue[0])!);
    assert.ok(order.get(b.rescue[0])! < order.get(b.always[0])!);
    assert.ok(order.get(b.always[0])! < order.get(t[2])!);
  });
});

describe('exit codes', () => {
  const hosts = (changed: number, failed: number, unreachable: number) => ({
    h: { stats: { ...emptyStats(), changed, failed, unreachable }, tasks: [] },
  });
  it('plain: 0 ok or changed, 4 failed or unreachable', () => {
    assert.equal(exitCodeFor(hosts(1, 0, 0), false), 0);
    assert.equal(exitCodeFor(hosts(0, 1, 0), false), 4);
    assert.equal(exitCodeFor(hosts(0, 0, 1), false), 4);
  });
  it("detailed: Puppet's 0/2/4/6", () => {
    assert.equal(exitCodeFor(hosts(0, 0, 0), true), 0);
    assert.equal(exitCodeFor(hosts(2, 0, 0), true), 2);
    assert.equal(exitCodeFor(hosts(0, 1, 0), true), 4);
    assert.equal(exitCodeFor(hosts(1, 0, 1), true), 6);
  });
});
