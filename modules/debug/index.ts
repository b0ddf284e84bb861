// debug: print a message or a variable (for operators reading a run, and for register checks).
import type { Module } from '../../engine/module.js';
import { UNDEFINED, lookupVar, show } from './parse.js';

export interface DebugParams {
  msg?: unknown;
  var?: string;
}

export const debugModule: Module<DebugParams> = {
  name: 'debug',
  kind: 'control',
  freeForm: 'msg',
  summary: 'Print a message or the value of a variable.',
  description: 'msg is rendered like any parameter; var names a variable path (`out.stdout_lines[0]`). Never touches the host.',
  params: {
    msg: { type: 'raw', description: 'Text (or any value) to print.' },
    var: { type: 'str', description: "A variable's path, e.g. result.stdout or hostvars['hv1'].migration_ip." },
  },
  examples: ['- debug:\n    msg: "migrating {{ vm }} to {{ target }}"', '- debug:\n    var: domains.stdout_lines'],
  validate(p) {
    return p.msg !== undefined && p.var !== undefined ? ['msg/var: give one of them, not both'] : [];
  },
  async control(ctx, p) {
    if (p.var !== undefined) {
      const v = lookupVar(ctx.vars, p.var);
      const value = v === UNDEFINED ? 'VARIABLE IS NOT DEFINED!' : v;
      return { msg: `${p.var}: ${show(value)}`, data: { [p.var]: value } };
    }
    const msg = p.msg === undefined ? 'Hello world!' : p.msg;
    return { msg: show(msg), data: { msg } };
  },
};
