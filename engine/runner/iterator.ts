// Walks one host through a play's task tree, block/rescue/always included. The driver feeds each
// step's result back in, so the same walk serves the linear and the free strategy.
import type { Block, Task, TaskNode, FlushHandlers } from '../playbook/types.js';
import type { TaskResult } from '../results.js';

/** What a task inherits from the blocks around it. */
export interface Inherited {
  when: Array<string | boolean>;
  tags: string[];
  vars: Record<string, unknown>;
  /** A boolean, or a template rendered per task (`become: "{{ use_sudo }}"`). */
  become?: boolean | string;
  becomeUser?: string;
  ignoreErrors?: boolean | string;
  delegateTo?: string;
  checkMode?: boolean;
  noLog?: boolean;
  /** Inside a rescue section: a failure here is not "rescued" again. */
  inRescue: boolean;
}

export type Step = { kind: 'task'; task: Task; inherited: Inherited; order: number } | { kind: 'flush'; node: FlushHandlers; order: number };

export type WalkOutcome = 'ok' | 'failed';

export const rootInherited = (): Inherited => ({ when: [], tags: [], vars: {}, inRescue: false });

function inherit(parent: Inherited, b: Block | FlushHandlers, inRescue = parent.inRescue): Inherited {
  return {
    when: [...parent.when, ...b.when],
    tags: [...parent.tags, ...b.tags],
    vars: { ...parent.vars, ...b.vars },
    become: b.become ?? parent.become,
    becomeUser: b.becomeUser ?? parent.becomeUser,
    ignoreErrors: b.ignoreErrors ?? parent.ignoreErrors,
    delegateTo: b.delegateTo ?? parent.delegateTo,
    checkMode: b.checkMode ?? parent.checkMode,
    noLog: b.noLog ?? parent.noLog,
    inRescue,
  };
}

/** A stable position for every node, depth-first: the linear strategy runs the lowest first. */
export function numberNodes(nodes: TaskNode[], into = new Map<TaskNode, number>()): Map<TaskNode, number> {
  for (const n of nodes) {
    into.set(n, into.size);
    if (n.kind === 'block') {
      numberNodes(n.block, into);
      numberNodes(n.rescue, into);
      numberNodes(n.always, into);
    }
  }
  return into;
}

/** The feedback a step gets: the task result, or nothing for a flush. */
export type Feedback = TaskResult | undefined;

export function* walk(nodes: TaskNode[], inh: Inherited, order: Map<TaskNode, number>): Generator<Step, WalkOutcome, Feedback> {
  for (const node of nodes) {
    if (node.kind === 'task') {
      const r = yield { kind: 'task', task: node, inherited: inh, order: order.get(node)! };
      if (r && (r.status === 'failed' || r.status === 'unreachable') && !r.ignored) return 'failed';
    } else if (node.kind === 'flush_handlers') {
      yield { kind: 'flush', node, order: order.get(node)! };
    } else {
      const inner = inherit(inh, node);
      let outcome = yield* walk(node.block, inner, order);
      if (outcome === 'failed' && node.rescue.length > 0) {
        outcome = yield* walk(node.rescue, { ...inherit(inh, node, true) }, order);
      }
      const after = yield* walk(node.always, inner, order);
      if (outcome === 'failed' || after === 'failed') return 'failed';
    }
  }
  return 'ok';
}
