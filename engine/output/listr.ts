// Terminal output: a listr2 tree per task with a live line per host. The engine drives it
// (it awaits each hook), so listr2 only renders and never owns concurrency.
import { Listr, type ListrTaskWrapper, type DefaultRenderer, type SimpleRenderer } from 'listr2';
import type { RunObserver } from '../runner/events.js';
import type { TaskEvent } from '../results.js';
import type { RendererOptions } from './plain.js';
import { colorFor, detailLines, statusWord, unifiedDiffs } from './format.js';

/** Past this many hosts a task shows one counting line instead of one line per host. */
const MAX_HOST_LINES = 40;

interface Pending {
  resolve(ev: TaskEvent): void;
  promise: Promise<TaskEvent>;
}

function deferred(): Pending {
  let resolve!: (ev: TaskEvent) => void;
  const promise = new Promise<TaskEvent>((r) => (resolve = r));
  return { resolve, promise };
}

export function listrRenderer(o: RendererOptions): RunObserver {
  let running: Promise<unknown> = Promise.resolve();
  let pending = new Map<string, Pending>();
  // The live row of each host of the current task: progress lines are drawn in it.
  let rows = new Map<string, ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>>();
  const c = o.chalk;

  const hostTask = (host: string) => async (_ctx: unknown, t: ListrTaskWrapper<unknown, typeof DefaultRenderer, typeof SimpleRenderer>) => {
    rows.set(host, t);
    const ev = await pending.get(host)!.promise;
    rows.delete(host);
    t.output = '';
    const r = ev.result;
    const lines = detailLines(r, o.verbose);
    if (o.diff) for (const d of unifiedDiffs(r)) lines.push(...d.split('\n'));
    // Changed rows stand out (Ansible's yellow); listr2's tick alone looks like ok.
    t.title = colorFor(c, r)(`${statusWord(r)}: ${host}`);
    if (r.status === 'skipped') t.skip(`skipped: ${host}`);
    // listr2 shows a failed task's title and then the error's message: the message carries only
    // the detail, or "failed: hv1" would be printed twice.
    else if (r.status === 'failed' && !r.ignored && !r.rescued) throw new Error(lines.length ? lines.join('\n') : 'failed');
    else if (r.status === 'unreachable') throw new Error(r.msg ?? 'unreachable');
    if (lines.length && r.status !== 'skipped') t.output = lines.join('\n');
  };

  return {
    async playStart(play, hosts) {
      await running;
      o.write(c.bold(`\nPLAY [${play.name}] ${hosts.length} host${hosts.length === 1 ? '' : 's'}`));
    },
    async taskStart(_play, name, hosts, handler) {
      await running;
      pending = new Map(hosts.map((h) => [h, deferred()]));
      rows = new Map();
      const title = `${handler ? 'HANDLER' : 'TASK'} [${name}]`;
      const list =
        hosts.length <= MAX_HOST_LINES
          ? new Listr(
              [
                {
                  title,
                  task: (_ctx, t) =>
                    t.newListr(
                      hosts.map((h) => ({ title: h, task: hostTask(h), rendererOptions: { persistentOutput: true } })),
                      { concurrent: true, exitOnError: false },
                    ),
                },
              ],
              { exitOnError: false, rendererOptions: { collapseSubtasks: false, collapseErrors: false, showErrorMessage: true } },
            )
          : new Listr(
              [
                {
                  title,
                  task: async (_ctx, t) => {
                    let done = 0;
                    const counts: Record<string, number> = {};
                    await Promise.all(
                      [...pending.values()].map(async (p) => {
                        const ev = await p.promise;
                        done++;
                        const w = statusWord(ev.result);
                        counts[w] = (counts[w] ?? 0) + 1;
                        t.title = `${title} ${done}/${hosts.length} ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(' ')}`;
                      }),
                    );
                  },
                },
              ],
              { exitOnError: false },
            );
      running = list.run().catch(() => undefined);
    },
    hostTaskDone(ev) {
      const p = pending.get(ev.host);
      if (p) p.resolve(ev);
      // With many hosts the list shows counts only: print what is not in sync below it.
      if (pending.size > MAX_HOST_LINES && (ev.result.status === 'failed' || ev.result.status === 'unreachable' || ev.result.changes.length)) {
        void running.then(() => {
          o.write(`  ${statusWord(ev.result)}: ${ev.host}`);
          for (const l of detailLines(ev.result, o.verbose)) o.write(`      ${l}`);
        });
      }
    },
    hostTaskProgress(host, _task, line) {
      const row = rows.get(host);
      if (row) row.output = c.dim(line);
    },
    async warning(m) {
      await running;
      o.write(c.magenta(`[WARNING] ${m}`));
    },
    verbose(line) {
      if (o.verbose) o.write(c.gray(line));
    },
    async finish() {
      await running;
    },
  };
}
