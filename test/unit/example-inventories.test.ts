// The example inventories are what operators copy: they must validate against the playbook they
// are documented with, and every knob they set must be one that playbook reads (a misspelt name
// such as migration_interface for migration_iface silently tunes the wrong NIC).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { MAGIC_VARS } from '../../engine/inventory/index.js';
import { prepareRun } from '../../engine/runner/run.js';

const PLAYBOOK = 'playbooks/cluster-tune.yml';
const INVENTORIES = ['inventories/example', 'inventories/example-ini/hosts.ini'];

function validate(inventory: string): { code: number; out: string } {
  const r = spawnSync(process.execPath, [rootPath('dist', 'engine', 'cli.js'), 'validate', PLAYBOOK, '-i', inventory], {
    cwd: rootPath(),
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status ?? -1, out: r.stdout + r.stderr };
}

describe('example inventories match playbooks/cluster-tune.yml', () => {
  const playbookWords = new Set(readFileSync(rootPath(PLAYBOOK), 'utf8').match(/[A-Za-z_][A-Za-z0-9_]*/g));

  for (const inv of INVENTORIES) {
    describe(inv, () => {
      it('play validate passes', () => {
        const r = validate(inv);
        assert.equal(r.code, 0, r.out);
        assert.match(r.out, /: ok \(/);
      });

      it('every hypervisor has a migration_ip of its own', () => {
        const { inventory } = prepareRun({ playbook: PLAYBOOK, inventories: [rootPath(inv)], extraVars: {} });
        const ips = inventory.select('hypervisors').map((h) => inventory.hostVars(h).migration_ip);
        assert.ok(ips.length > 4);
        for (const ip of ips) assert.match(String(ip), /^198\.18\.\d+\.\d+$/);
        assert.equal(new Set(ips).size, ips.length, 'migration IPs must be unique');
      });

      it('every variable a hypervisor gets is read by the playbook (no dead or misspelt knobs)', () => {
        const { inventory } = prepareRun({ playbook: PLAYBOOK, inventories: [rootPath(inv)], extraVars: {} });
        const unused = new Set<string>();
        for (const h of inventory.select('hypervisors')) {
          for (const name of Object.keys(inventory.hostVars(h))) {
            if (name.startsWith('ansible_') || MAGIC_VARS.includes(name)) continue;
            if (!playbookWords.has(name)) unused.add(name);
          }
        }
        assert.deepEqual([...unused], []);
      });
    });
  }

  it("the YAML layout tunes hv-dc2-r2-07 on its own NIC and canaries get canary's values", () => {
    const { inventory } = prepareRun({ playbook: PLAYBOOK, inventories: [rootPath('inventories/example')], extraVars: {} });
    assert.equal(inventory.hostVars('hv-dc2-r2-07.example.net').migration_iface, 'ens4f1');
    assert.equal(inventory.hostVars('hv-dc2-r2-06.example.net').migration_iface, 'eth1');
    assert.equal(inventory.hostVars('hv09.dc1.example.net').net_core_rmem_max, 33554432);
    assert.equal(inventory.hostVars('hv10.dc1.example.net').net_core_rmem_max, 16777216);
  });

  it("README's --limit 'dc1:!maintenance' selects dc1 minus the drained host", () => {
    const readme = readFileSync(rootPath('README.md'), 'utf8');
    const limit = /--limit '([^']+)'/.exec(readme)?.[1];
    assert.equal(limit, 'dc1:!maintenance');
    const { limitHosts, inventory } = prepareRun({ playbook: PLAYBOOK, inventories: [rootPath('inventories/example/hosts.yml')], limit, extraVars: {} });
    const dc1 = inventory.select('dc1');
    assert.equal(dc1.length, 16);
    assert.deepEqual([...(limitHosts ?? [])], dc1.filter((h) => h !== 'hv16.dc1.example.net'));
  });
});
