// Batched reads (engine/runner/batch-reads.ts) on local hosts through a real playbook run: a
// check reads every task whose parameters are known up front in one exec per host, a task whose
// `when` or parameters depend on a register reads when reached, and a batched read is only used
// by the task and parameters it was built for. Execs are counted by the probe itself (a line in
// a log file per run of its script), so nothing here is a stub.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { TaskEvent } from '../../engine/results.js';
import { MODULES } from '../../modules/index.js';
import type { Change, Module } from '../../engine/module/contract.js';
import { batchScript, markedScript, parseMarked } from '../../engine/connection/sections.js';
import { sh } from '../../engine/connection/quote.js';
import { BatchedReads, machineOf } from '../../engine/runner/batch-reads.js';

interface P {
  path: string;
  content: string;
  log: string;
}

/** One line in a file, read by a probe that also notes each run of its script in `log`. */
const probedFile: Module<P, string | null, 'content'> = {
  name: 't_probed_file',
  kind: 'state',
  summary: 'test module: one line in a file, read by a probe',
  examples: [],
  params: {
    path: { type: 'str', required: true, description: 'file' },
    content: { type: 'str', required: true, description: 'wanted line' },
    log: { type: 'str', required: true, description: 'where each read notes its shell (one line per exec)' },
  },
  probe: (p) => ({
    // $$: the shell of the whole exec (subshells keep it), the same for every probe of one batch.
    script: markedScript([{ name: 'f', cmd: sh`echo "$$" >> ${p.log}; if [ -e ${p.path} ]; then cat -- ${p.path}; else (exit 3); fi` }]),
    parse: (r) => {
      const f = parseMarked(r.stdout).f;
      if (!f) throw new Error(`no section in ${JSON.stringify(r.stdout)}`);
      return f.rc === 3 ? null : f.text;
    },
  }),
  diff: (state, p) => (state === p.content ? [] : [{ path: p.path, from: state, to: p.content, target: 'content' } as Change<'content'>]),
  apply: async (ctx, p) => {
    await ctx.host.writeFile(p.path, p.content);
  },
};

/** The same module with its apply as a step: the engine sends it with the re-read and the next reads. */
const steppedFile: Module<P, string | null, 'content'> = {
  ...probedFile,
  name: 't_stepped_file',
  apply: undefined,
  applySteps: (p) => ({ steps: [{ write: p.path, content: p.content }] }),
};

describe('batched reads (local hosts)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-batch-'));
    MODULES.t_probed_file = probedFile;
    MODULES.t_stepped_file = steppedFile;
  });
  afterEach(() => {
    delete MODULES.t_probed_file;
    delete MODULES.t_stepped_file;
    rmSync(dir, { recursive: true, force: true });
  });

  const run = async (tasks: string, check = true, hosts = 'h1') => {
    const pb = join(dir, 'pb.yml');
    writeFileSync(pb, `- hosts: ${hosts}\n  gather_facts: false\n  tasks:\n${tasks}`);
    const events: TaskEvent[] = [];
    await runPlaybook({
      playbook: pb,
      inventories: [rootPath('test', 'fixtures', 'runner', 'inventory.yml')],
      check,
      diff: false,
      tags: [],
      skipTags: [],
      forks: 1,
      extraVars: {},
      detailedExitcodes: false,
      command: check ? 'check' : 'run',
      observer: { hostTaskDone: (e) => events.push(e) },
    });
    return events;
  };
  const execs = (log: string) => new Set(readFileSync(log, 'utf8').trim().split('\n')).size;
  const reads = (log: string) => readFileSync(log, 'utf8').trim().split('\n').length;

  it('reads every task known up front in one exec, and judges each from its own section', async () => {
    const log = join(dir, 'log');
    for (const n of [1, 2, 3]) writeFileSync(join(dir, `f${n}`), n === 2 ? 'drifted' : `line${n}`);
    const task = (n: number) => `    - t_probed_file: { path: ${join(dir, `f${n}`)}, content: line${n}, log: ${log} }\n`;
    const events = await run(task(1) + task(2) + task(3));
    assert.deepEqual(events.map((e) => e.result.status), ['ok', 'changed', 'ok']);
    assert.equal(events[1].result.changes[0].from, 'drifted');
    assert.equal(reads(log), 3);
    assert.equal(execs(log), 1, 'three reads, one exec');
    assert.equal(readFileSync(join(dir, 'f2'), 'utf8'), 'drifted', 'a check writes nothing');
  });

  it('a task whose parameters depend on a register reads when reached; one whose parameters changed reads again', async () => {
    const log = join(dir, 'log');
    writeFileSync(join(dir, 'a'), 'x');
    writeFileSync(join(dir, 'b'), 'y');
    const events = await run(
      [
        `    - t_probed_file: { path: ${join(dir, 'a')}, content: x, log: ${log} }`,
        `    - command: { cmd: echo b, read_only: true }`,
        `      register: which`,
        `    - t_probed_file: { path: "${dir}/{{ which.stdout }}", content: y, log: ${log} }`,
        `    - set_fact: { wanted: z }`,
        // read ahead with content 'x' (wanted undefined: its default), reached with 'z': read again
        `    - t_probed_file: { path: ${join(dir, 'a')}, content: "{{default wanted 'x'}}", log: ${log} }`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(events.map((e) => e.result.status), ['ok', 'ok', 'ok', 'ok', 'changed']);
    assert.equal(events[4].result.changes[0].to, 'z');
    // The batch (tasks 1 and 5 as planned); the command ran (a read-only command is still a
    // command: what was read before is stale), so the rest is read again in one exec (task 5);
    // the registered task when reached; task 5 again, its parameters changed since.
    assert.equal(reads(log), 5);
    assert.equal(execs(log), 4);
  });

  it('copy and template read through their probe (batched in a check): content exact to the byte, binary included', async () => {
    const bytes = Buffer.from([0, 255, 254, 10, 13, 0x80, 0x40]);
    writeFileSync(join(dir, 'bin'), bytes);
    writeFileSync(join(dir, 'same'), bytes);
    writeFileSync(join(dir, 'other'), Buffer.concat([bytes, Buffer.from([1])]));
    writeFileSync(join(dir, 't.j2'), 'host {{inventory_hostname}}\n');
    writeFileSync(join(dir, 'rendered'), 'host h1\n');
    const events = await run(
      [
        `    - copy: { src: bin, dest: ${join(dir, 'same')} }`,
        `    - copy: { src: bin, dest: ${join(dir, 'other')} }`,
        `    - template: { src: t.j2, dest: ${join(dir, 'rendered')} }`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(events.map((e) => e.result.status), ['ok', 'changed', 'ok'], JSON.stringify(events.map((e) => e.result.msg)));
    assert.deepEqual(readFileSync(join(dir, 'other')), Buffer.concat([bytes, Buffer.from([1])]), 'a check writes nothing');
  });

  it('a real run never uses a read made before an apply: a later task reading the file an earlier one changed sees the change', async () => {
    const log = join(dir, 'log');
    const f = join(dir, 'f');
    writeFileSync(f, 'old');
    writeFileSync(join(dir, 'other'), 'same');
    const tasks = [
      `    - t_probed_file: { path: ${f}, content: new, log: ${log} }`,
      `    - t_probed_file: { path: ${join(dir, 'other')}, content: same, log: ${log} }`,
      // read ahead as 'old' with the others; after the first task's apply that read is stale
      `    - t_probed_file: { path: ${f}, content: new, log: ${log} }`,
      '',
    ].join('\n');
    const events = await run(tasks, false);
    assert.deepEqual(events.map((e) => e.result.status), ['changed', 'ok', 'ok'], JSON.stringify(events.map((e) => e.result.changes)));
    // One batch of three; the convergence re-read; the rest (tasks 2 and 3) again in one exec.
    assert.equal(reads(log), 3 + 1 + 2);
    assert.equal(execs(log), 3);
    // An idempotent re-run costs what a check costs: one exec for every read.
    rmSync(log);
    assert.deepEqual((await run(tasks, false)).map((e) => e.result.status), ['ok', 'ok', 'ok']);
    assert.deepEqual([reads(log), execs(log)], [3, 1]);
  });
  it('an apply given as steps carries its re-read and the next tasks\' reads (through the next expected change): one exec per change', async () => {
    const log = join(dir, 'log');
    const [f, g, other] = ['f', 'g', 'other'].map((n) => join(dir, n));
    writeFileSync(f, 'old');
    writeFileSync(g, 'old');
    writeFileSync(other, 'same');
    const task = (path: string, content: string) => `    - t_stepped_file: { path: ${path}, content: ${content}, log: ${log} }\n`;
    const tasks = task(f, 'new') + task(other, 'same') + task(g, 'new');
    const events = await run(tasks, false);
    assert.deepEqual(events.map((e) => e.result.status), ['changed', 'ok', 'changed'], JSON.stringify(events.map((e) => e.result.changes)));
    // The batch of three; task 1's exec: its write, its re-read, and the reads of 2 and 3 (3 was
    // expected to change: the reads stop there); task 3's exec: its write and its re-read.
    assert.deepEqual([reads(log), execs(log)], [3 + 3 + 1, 1 + 2]);
    assert.equal(readFileSync(g, 'utf8'), 'new');
    rmSync(log);
    assert.deepEqual((await run(tasks, false)).map((e) => e.result.status), ['ok', 'ok', 'ok']);
    assert.deepEqual([reads(log), execs(log)], [3, 1], 'an idempotent re-run costs a check');
  });

  it('a read batched before an apply is never used after it: a later task reading the file an earlier one wrote sees the new content', async () => {
    const log = join(dir, 'log');
    const [f, g] = ['f', 'g'].map((n) => join(dir, n));
    writeFileSync(f, 'old');
    writeFileSync(g, 'old');
    const task = (path: string, content: string) => `    - t_stepped_file: { path: ${path}, content: ${content}, log: ${log} }\n`;
    // 2 reads f, read ahead as 'old' (a change expected); 1 writes it first.
    const events = await run(task(f, 'new') + task(f, 'new') + task(g, 'new'), false);
    assert.deepEqual(events.map((e) => e.result.status), ['changed', 'ok', 'changed'], JSON.stringify(events.map((e) => e.result.changes)));
    // Task 1's exec reads 2 again after the write (the reads stop at 2: its stale read expected a
    // change); 2 does not change, so 3 is read in one more exec before its own apply.
    assert.deepEqual([reads(log), execs(log)], [3 + 2 + 1 + 1, 4]);
  });

  it('a read with a time limit sent after an apply bounds only itself, never the apply before it', async () => {
    const log = join(dir, 'log');
    MODULES.t_quick_read = { ...probedFile, name: 't_quick_read', probe: (p, h) => ({ ...probedFile.probe!(p, h), timeoutMs: 300 }) };
    try {
      writeFileSync(join(dir, 'f'), 'x');
      const events = await run([`    - command: sleep 1; echo done`, `    - t_quick_read: { path: ${join(dir, 'f')}, content: x, log: ${log} }`, ''].join('\n'), false);
      assert.deepEqual(events.map((e) => e.result.status), ['changed', 'ok'], JSON.stringify(events.map((e) => e.result.msg)));
      assert.equal(events[0].result.data?.stdout, 'done');
    } finally {
      delete MODULES.t_quick_read;
    }
  });

  it('copy then lineinfile on the same file: the second task judges the file the first one wrote, not the read batched before it', async () => {
    const f = join(dir, 'conf');
    writeFileSync(f, 'old\n');
    const events = await run(
      [`    - copy: { dest: ${f}, content: "a\\nb\\n", backup: false }`, `    - lineinfile: { path: ${f}, line: b, backup: false }`, ''].join('\n'),
      false,
    );
    assert.deepEqual(events.map((e) => e.result.status), ['changed', 'ok'], JSON.stringify(events.map((e) => e.result.changes)));
    assert.equal(readFileSync(f, 'utf8'), 'a\nb\n');
  });

  it('an apply through one inventory host makes stale the reads of every host on the same machine (local hosts)', async () => {
    const log = join(dir, 'log');
    const f = join(dir, 'f');
    writeFileSync(f, 'old');
    const tasks = [
      '    - name: first',
      `      t_probed_file: { path: ${f}, content: new, log: ${log} }`,
      "      when: inventory_hostname == 'h1'",
      '    - name: second',
      `      t_probed_file: { path: ${f}, content: new, log: ${log} }`,
      '',
    ].join('\n');
    const events = await run(tasks, false, 'h1,h2');
    const second = events.filter((e) => e.task === 'second').map((e) => `${e.host} ${e.result.status}`).sort();
    assert.deepEqual(second, ['h1 ok', 'h2 ok'], 'h2 judged the file from a read made before h1 changed it');
  });

  it('machineOf: local hosts are one machine; SSH hosts by address and port', () => {
    assert.equal(machineOf({ ansible_connection: 'local' }, 'a'), machineOf({}, 'localhost'));
    assert.equal(machineOf({ ansible_host: '10.0.0.1' }, 'a'), machineOf({ ansible_host: '10.0.0.1', ansible_port: 22 }, 'b'));
    assert.notEqual(machineOf({ ansible_host: '10.0.0.1', ansible_port: 2222 }, 'a'), machineOf({ ansible_host: '10.0.0.1' }, 'b'));
  });
});

describe('batchScript and BatchedReads', () => {
  it('gives each probe its own output and exit code, whatever the probe prints or exits with', () => {
    const probes = [
      markedScript([{ name: 'a', cmd: "printf 'one\\n@@play-rc 0@@\\n@@batch-x-rc 0@@\\n'" }]),
      'v=2; echo "$v"; exit 5',
      'echo "${v:-unset}"; echo err >&2',
    ];
    const b = batchScript(probes);
    const out = b.split(execFileSync('sh', ['-c', b.script], { encoding: 'utf8' }));
    assert.equal(out.length, 3);
    assert.match(out[0]!.stdout, /^@@play a@@\none\n@@play-rc 0@@\n@@batch-x-rc 0@@\n\n@@play-rc 0@@\n$/);
    assert.deepEqual([out[1]!.stdout, out[1]!.code], ['2\n', 5]);
    assert.deepEqual([out[2]!.stdout, out[2]!.code], ['unset\nerr\n', 0], 'a variable stays in its probe; stderr is kept');
  });

  it('gated: the steps of an apply run in order, and nothing runs after a failed one (its reads included)', () => {
    const ok = batchScript(['echo one', 'read x; echo "got $x"', 'echo probe'], 2);
    const o1 = ok.split(execFileSync('sh', ['-c', ok.script], { encoding: 'utf8', input: 'content\n' }));
    assert.deepEqual(o1.map((o) => o?.stdout), ['one\n', 'got content\n', 'probe\n'], 'a step reads the exec\'s stdin');
    const failing = batchScript(['echo one; exit 4', 'echo two', 'echo probe'], 2);
    const o2 = failing.split(execFileSync('sh', ['-c', failing.script], { encoding: 'utf8' }));
    assert.deepEqual(o2.map((o) => o && [o.stdout, o.code]), [['one\n', 4], undefined, undefined]);
  });

  it('a batched read is taken once, and only with the key it was made for', async () => {
    const r = new BatchedReads();
    const t1 = {} as never;
    const t2 = {} as never;
    const b = r.batchFor('h', new Set([t1, t2]));
    b.put(t1, 'k', { stdout: 'a', stderr: '', code: 0 });
    b.put(t2, 'k', { stdout: 'b', stderr: '', code: 0 });
    assert.equal(await r.take('h', t1, 'other'), undefined);
    assert.equal(await r.take('h', t1, 'k'), undefined, 'a mismatch consumed it');
    assert.equal(await r.take('g', t2, 'k'), undefined, 'another host');
    assert.equal((await r.take('h', t2, 'k'))?.stdout, 'b');
    assert.equal(await r.take('h', t2, 'k'), undefined, 'once');
  });

  it('an apply makes the host\'s reads stale, a batch in flight included; the next take reads the rest again, 2 tasks then 4; other hosts keep theirs', async () => {
    const refills: string[] = [];
    const [t, u] = [{}, {}] as never[];
    const r: BatchedReads = new BatchedReads({
      async refill(host, from, stop) {
        // how many tasks this refill reads at least (no task is expected to change: the window decides)
        const tasks = [1, 2, 3, 4, 5, 6, 7, 8].find((n) => stop(from, n));
        refills.push(`${host} ${from === t ? 't' : 'u'} ${tasks}`);
        r.batchFor(host, new Set([from])).put(from, 'k', { stdout: 'fresh', stderr: '', code: 0 });
      },
      ahead: () => ({ planned: [], covered: new Set() }),
    });
    const inFlight = r.batchFor('h', new Set([t]));
    r.batchFor('h', new Set([t])).put(t, 'k', { stdout: 'old', stderr: '', code: 0 });
    r.batchFor('g', new Set([t])).put(t, 'k', { stdout: 'g', stderr: '', code: 0 });
    r.applying('h');
    inFlight.put(t, 'k', { stdout: 'old', stderr: '', code: 0 });
    assert.equal((await r.take('h', t, 'k'))?.stdout, 'fresh');
    assert.equal((await r.take('g', t, 'k'))?.stdout, 'g');
    assert.equal((await r.take('h', u, 'k'))?.stdout, 'fresh', 'a task the last batch did not go through: read the next ones');
    assert.deepEqual(refills, ['h t 2', 'h u 4']);
  });
});
