// assert: fail the host when a condition does not hold (the same expressions as `when:`).
import type { Module } from '../../engine/module/contract.js';
import { evaluateCondition } from '../../engine/lang/expr.js';

export interface AssertParams {
  that: unknown;
  fail_msg?: string;
  success_msg?: string;
  quiet: boolean;
}

/** `that:` as a list: a single expression may be written without the list. */
export function conditions(that: unknown): Array<string | boolean> {
  const list = Array.isArray(that) ? that : [that];
  return list.map((c) => (typeof c === 'boolean' ? c : String(c)));
}

export const assertModule: Module<AssertParams> = {
  name: 'assert',
  kind: 'control',
  summary: 'Fail the host unless every expression holds.',
  description: 'Expressions are written like `when:` (no braces). The first false one fails the task with fail_msg or the expression itself. Runs in check mode too.',
  params: {
    that: {
      type: 'raw',
      required: true,
      description: 'An expression or a list of them; all must be true.',
      check: (v) => (conditions(v).some((c) => typeof c === 'string' && c.trim() === '') ? 'an expression must not be empty' : undefined),
    },
    fail_msg: { type: 'str', description: 'Message when an expression is false.', aliases: ['msg'] },
    success_msg: { type: 'str', description: 'Message when all hold.' },
    quiet: { type: 'bool', default: false, description: 'No message when all hold.' },
  },
  examples: ['- assert:\n    that:\n      - ansible_mtu_eth1 | int >= 9000\n      - migration_ip is defined\n    fail_msg: "eth1 must carry jumbo frames for migration"'],
  async control(ctx, p) {
    for (const [i, c] of conditions(p.that).entries()) {
      if (!evaluateCondition([c], ctx.vars, { file: 'assert', field: `that[${i}]`, task: 'assert' })) {
        return { failed: true, msg: p.fail_msg ?? `Assertion failed: ${String(c)}`, data: { assertion: c, evaluated_to: false } };
      }
    }
    return { msg: p.quiet ? undefined : (p.success_msg ?? 'All assertions passed'), data: { changed: false } };
  },
};
