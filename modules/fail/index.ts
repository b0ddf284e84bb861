// fail: end the host with a message (usually under a `when:`), as Ansible's fail module does.
import type { Module } from '../../engine/module/contract.js';

export interface FailParams {
  msg: string;
}

export const failModule: Module<FailParams> = {
  name: 'fail',
  kind: 'control',
  freeForm: 'msg',
  summary: 'Fail the host with a message (put the condition in when:).',
  description: 'Never touches the host; fails in check mode too, so a drift check reports the same refusal a run would.',
  params: {
    msg: { type: 'str', default: 'Failed as requested from task', description: 'The failure message (templated).' },
  },
  examples: ['- fail:\n    msg: "{{ inventory_hostname }} has no migration_ip"\n  when: migration_ip is not defined'],
  async control(_ctx, p) {
    return { failed: true, msg: p.msg };
  },
};
