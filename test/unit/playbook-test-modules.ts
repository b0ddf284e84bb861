// Small modules registered only while the playbook tests run, so the expected messages do not
// change when the real modules' schemas grow.
import type { Module } from '../../engine/module/contract.js';
import { MODULES } from '../../modules/index.js';

const sysctl: Module = {
  name: 't_sysctl',
  kind: 'state',
  summary: 'test module with a schema',
  params: {
    name: { type: 'str', required: true, description: 'key' },
    value: { type: 'int', description: 'value' },
    rings: { type: 'dict', options: { rx: { type: 'int', description: 'rx' }, tx: { type: 'int', description: 'tx' } }, description: 'rings' },
    settings: { type: 'dict', values: { type: 'raw', description: 'v' }, description: 'settings' },
    state: { type: 'str', choices: ['present', 'absent'], default: 'present', description: 'state' },
  },
  examples: [],
  validate: (p) => (p.state === 'absent' && p.value !== undefined ? ['value: not allowed with state absent'] : []),
};

const command: Module = {
  name: 't_command',
  kind: 'action',
  freeForm: 'cmd',
  summary: 'test module with a free-form parameter',
  params: { cmd: { type: 'str', description: 'cmd' }, chdir: { type: 'str', description: 'dir' } },
  examples: [],
};

const setFact: Module = {
  name: 't_set_fact',
  kind: 'control',
  freeKeys: true,
  summary: 'test module with free keys',
  params: {},
  examples: [],
};

const TEST_MODULES = [sysctl, command, setFact];

export function registerTestModules(): () => void {
  for (const m of TEST_MODULES) MODULES[m.name] = m;
  return () => {
    for (const m of TEST_MODULES) delete MODULES[m.name];
  };
}
