// set_fact: variables for the rest of the play on this host (any names, already rendered).
import { paramProblem, type Module } from '../../engine/module/contract.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const setFactModule: Module<Record<string, unknown>> = {
  name: 'set_fact',
  kind: 'control',
  freeKeys: true,
  summary: 'Set variables for this host for the rest of the run.',
  description: 'Every key becomes a host variable (values are rendered first, so they can use other variables). Never touches the host; runs in check mode too.',
  params: {},
  examples: ['- set_fact:\n    migration_bw_mib: "{{int (div link_speed_mbit 8)}}"\n    peers: "{{ groups.hypervisors }}"'],
  validate(p) {
    const errs = Object.keys(p)
      .filter((k) => !NAME.test(k))
      .map((k) => paramProblem(k, 'not a valid variable name (letters, digits, _; not starting with a digit)'));
    if (Object.keys(p).length === 0) errs.push(paramProblem('', 'give at least one variable'));
    return errs;
  },
  async control(_ctx, p) {
    return { facts: { ...p }, data: { ansible_facts: { ...p } } };
  },
};
