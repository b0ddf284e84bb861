// debug: print a message or a variable (for operators reading a run, and for register checks).
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { ExprError, evaluate } from '../../engine/lang/expr.js';

export interface DebugParams {
  msg?: unknown;
  var?: string;
}

/** Strings as they are; anything else as indented JSON. */
export function show(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v, null, 2) ?? String(v));
}

export const debugModule: Module<DebugParams> = {
  name: 'debug',
  kind: 'control',
  freeForm: 'msg',
  summary: 'Print a message or the value of a variable.',
  description:
    'msg is rendered like any parameter; var is an expression like `when:` (`out.stdout_lines[0]`, `peers | length`). ' +
    'An undefined variable prints VARIABLE IS NOT DEFINED! instead of failing. Never touches the host.',
  params: {
    msg: { type: 'raw', description: 'Text (or any value) to print.' },
    var: { type: 'str', description: "A variable or expression, e.g. result.stdout or hostvars['hv1'].migration_ip." },
  },
  examples: ['- debug:\n    msg: "migrating {{ vm }} to {{ target }}"', '- debug:\n    var: domains.stdout_lines'],
  validate(p) {
    return p.msg !== undefined && p.var !== undefined ? [paramProblem('msg/var', 'give one of them, not both')] : [];
  },
  async control(ctx, p) {
    if (p.var !== undefined) {
      let value: unknown;
      try {
        value = evaluate(p.var, ctx.vars, { file: 'debug', field: 'var', task: 'debug' });
      } catch (e) {
        if (!(e instanceof ExprError) || e.variable === undefined) throw e;
        value = 'VARIABLE IS NOT DEFINED!';
      }
      return { msg: `${p.var}: ${show(value)}`, data: { [p.var]: value } };
    }
    const msg = p.msg === undefined ? 'Hello world!' : p.msg;
    return { msg: show(msg), data: { msg } };
  },
};
