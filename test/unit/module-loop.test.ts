// The engine's module loop (moduleSteps, through test/module-loop.ts as every module test uses
// it) on a real local file: the convergence re-read fails a task whose apply did not get the host
// there, an `action` change is exempt, check mode never applies, failures stop before apply.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalHost } from '../../engine/connection/local.js';
import { rootPath } from '../../engine/paths.js';
import { runPlaybook } from '../../engine/runner/run.js';
import type { TaskEvent } from '../../engine/results.js';
import { MODULES } from '../../modules/index.js';
import { formatChange, standaloneContext, type Change, type Module } from '../../engine/module/contract.js';
import { InterruptedError, ModuleError, TimeoutError } from '../../engine/errors.js';
import { sh } from '../../engine/connection/quote.js';
import { moduleSteps } from '../../engine/runner/task.js';
import { runModule } from '../module-loop.js';

interface P {
  path: string;
  content: string;
  /** What apply really writes: a module bug (or a host that resists) when it differs from content. */
  writes?: string;
  restart: boolean;
  finding?: string;
}

let applied = 0;

/** A file holding one line; `restart` adds a change that is due every time (an action). */
const lineFile: Module<P, string | null, 'content' | 'restart'> = {
  name: 't_line_file',
  kind: 'state',
  summary: 'test module: one line in a file',
  examples: [],
  params: {
    path: { type: 'str', required: true, description: 'file' },
    content: { type: 'str', required: true, description: 'wanted line' },
    writes: { type: 'str', description: 'what apply writes instead' },
    restart: { type: 'bool', default: false, description: 'an action change, always due' },
    finding: { type: 'str', description: 'a failure the diff reports' },
  },
  read: async (ctx, p) => (await ctx.host.readFile(p.path))?.toString('utf8') ?? null,
  diff: (state, p) => {
    const changes: Change<'content' | 'restart'>[] = [];
    if (state !== p.content) changes.push({ path: p.path, from: state, to: p.content, target: 'content' });
    if (p.restart) changes.push({ path: 'restart', message: 'would restart', done: 'restarted', action: true, target: 'restart' });
    return { changes, failures: p.finding ? [p.finding] : [], warnings: ['read once'] };
  },
  apply: async (ctx, p, changes) => {
    applied++;
    for (const c of changes) if (c.target === 'content') await ctx.host.writeFile(p.path, p.writes ?? p.content);
    return { data: { wrote: true } };
  },
  result: (state) => ({ content: state }),
};

describe('the engine module loop (moduleSteps) on a local file', () => {
  const host = new LocalHost('local');
  let dir: string;
  let f: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-loop-'));
    f = join(dir, 'f');
    writeFileSync(f, 'old');
    applied = 0;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('an apply that does not reach the wanted state fails the task: "did not converge", naming what is left', async () => {
    const r = await runModule(host, lineFile, { path: f, content: 'new', writes: 'newish' }, { mayFail: true });
    assert.equal(r.status, 'failed');
    assert.equal(r.msg, `did not converge on local: after apply, still ${f}: 'newish' → 'new'`);
    assert.deepEqual(r.changes.map(formatChange), [`${f}: 'old' → 'new'`], 'the attempted change is reported');
    assert.equal(applied, 1);
    assert.equal(readFileSync(f, 'utf8'), 'newish');
  });

  it('a converging apply: changed, the data comes from the re-read and apply, warnings from the diff', async () => {
    const r = await runModule(host, lineFile, { path: f, content: 'new' });
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.data, { content: 'new', wrote: true });
    assert.deepEqual(r.warnings, ['read once']);
    assert.deepEqual((await runModule(host, lineFile, { path: f, content: 'new' })).status, 'ok');
    assert.equal(applied, 1);
  });

  it('an action change still due after apply is exempt from the rule, and reads as done', async () => {
    const r = await runModule(host, lineFile, { path: f, content: 'new', restart: true });
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.changes.map(formatChange), [`${f}: 'old' → 'new'`, 'restart: restarted']);
    assert.ok(r.changes.every((c) => c.target === undefined), 'target never leaves the engine');
  });

  it('check mode reports the pending change and never applies', async () => {
    const r = await runModule(host, lineFile, { path: f, content: 'new', writes: 'newish' }, { check: true });
    assert.equal(r.status, 'changed');
    assert.deepEqual(r.changes.map(formatChange), [`${f}: 'old' → 'new'`]);
    assert.equal(applied, 0);
    assert.equal(readFileSync(f, 'utf8'), 'old');
  });

  it('a failure found by diff fails the task before apply, in check mode and in a run', async () => {
    for (const check of [true, false]) {
      const r = await runModule(host, lineFile, { path: f, content: 'new', finding: 'cannot judge' }, { check, mayFail: true });
      assert.equal(r.status, 'failed');
      assert.deepEqual(r.failures, ['cannot judge']);
    }
    assert.equal(applied, 0);
    assert.equal(readFileSync(f, 'utf8'), 'old');
  });

  it('an interrupt or task timeout arriving during read stops the task before apply (nothing started)', async () => {
    for (const reason of [new TimeoutError('task timed out after 2 s'), new InterruptedError('interrupted (SIGINT)'), 'no error']) {
      const ac = new AbortController();
      const slowRead: Module<P, string | null, 'content' | 'restart'> = { ...lineFile, read: async (ctx, p) => (ac.abort(reason), lineFile.read!(ctx, p)) };
      const ctx = { ...standaloneContext(host), signal: ac.signal };
      const err = await moduleSteps(slowRead, ctx, { path: f, content: 'new', restart: false }, false).then(() => undefined, (e: unknown) => e);
      if (reason instanceof Error) assert.equal(err, reason, 'the signal reason is thrown');
      else assert.ok(err instanceof InterruptedError && /interrupted before applying on local/.test(err.message), String(err));
    }
    assert.equal(applied, 0);
    assert.equal(readFileSync(f, 'utf8'), 'old');
  });

  it('a failed task fails the test unless it says the task may fail (nothing silent)', async () => {
    await assert.rejects(runModule(host, lineFile, { path: f, content: 'new', writes: 'newish' }), /t_line_file failed: did not converge/);
  });

  it('a playbook run takes the same path: the same task fails with the same message on a local host', async () => {
    const pb = join(dir, 'pb.yml');
    writeFileSync(pb, `- hosts: h1\n  gather_facts: false\n  tasks:\n    - t_line_file: { path: ${JSON.stringify(f)}, content: new, writes: newish }\n`);
    const events: TaskEvent[] = [];
    MODULES.t_line_file = lineFile;
    try {
      await runPlaybook({
        playbook: pb,
        inventories: [rootPath('test', 'fixtures', 'runner', 'inventory.yml')],
        check: false,
        diff: false,
        tags: [],
        skipTags: [],
        forks: 1,
        extraVars: {},
        detailedExitcodes: false,
        command: 'run',
        observer: { hostTaskDone: (e) => events.push(e) },
      });
    } finally {
      delete MODULES.t_line_file;
    }
    assert.equal(events.length, 1);
    assert.equal(events[0].result.status, 'failed');
    assert.equal(events[0].result.msg, `did not converge on h1: after apply, still ${f}: 'newish' → 'new'`);
    assert.deepEqual(events[0].result.changes.map(formatChange), [`${f}: 'old' → 'new'`]);
  });
});

describe('applies given as steps (runner/apply-steps.ts) on a local host', () => {
  const host = new LocalHost('local');
  it('a command keeps its stdout and stderr apart and exact, gets its stdin, and registers a failure with its output', async () => {
    const ok = await runModule(host, MODULES.command, { cmd: "cat; printf 'no newline'; printf 'err\\n' >&2", stdin: 'in' });
    assert.deepEqual([ok.data?.stdout, ok.data?.stderr, ok.data?.rc], ['in\nno newline', 'err', 0]);
    const failed = await runModule(host, MODULES.command, { cmd: 'echo out; echo bad >&2; exit 3' }, { mayFail: true });
    assert.equal(failed.status, 'failed');
    assert.deepEqual([failed.data?.stdout, failed.data?.stderr, failed.data?.rc], ['out', 'bad', 3]);
  });

  it('a failed step stops the apply: the write after it does not happen, the module judges the failure', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'play-steps-'));
    const file = join(dir, 'x.conf');
    const twoSteps: Module<{ cmd: string }, null, 'x'> = {
      name: 't_two_steps',
      kind: 'state',
      summary: 'test module: a command, then a write',
      examples: [],
      params: { cmd: { type: 'str', required: true, description: 'first step' } },
      probe: () => ({ script: sh`cat -- ${file} 2>/dev/null || echo absent`, parse: () => null }),
      diff: () => [{ path: file, target: 'x', from: 'absent', to: 'present' }],
      applySteps: (p) => ({
        steps: [{ run: p.cmd }, { write: file, content: 'x\n' }],
        judge: ([o]) => {
          if (o && o.code !== 0) throw new ModuleError(`first step failed (${o.code}): ${o.output.trim()}`);
        },
      }),
    };
    try {
      const out = await runModule(host, twoSteps, { cmd: 'echo refused; exit 4' }, { mayFail: true });
      assert.equal(out.msg, 'first step failed (4): refused');
      assert.throws(() => readFileSync(file), /ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
