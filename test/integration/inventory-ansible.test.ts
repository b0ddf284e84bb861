// ansible-inventory (the real one, from ansible-core) and ours must print the same inventory:
// --list, --graph and --host, on every sample inventory and the example fleet layouts.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rootPath } from '../../engine/paths.js';
import { loadInventory, MAGIC_VARS } from '../../engine/inventory/index.js';

const SOURCES: string[][] = [
  ['test/fixtures/inventory/nested/hosts.yml'],
  ['test/fixtures/inventory/nested'],
  ['test/fixtures/inventory/typed.ini'],
  ['test/fixtures/inventory/priority.yml'],
  ['test/fixtures/inventory/dir-source'],
  ['test/fixtures/inventory/nested/hosts.yml', 'test/fixtures/inventory/typed.ini'],
  ['inventories/example'],
  ['inventories/example/hosts.yml'],
  ['inventories/example-ini/hosts.ini'],
];
const EXTRA: Array<{ sources: string[]; args: string[] }> = [
  { sources: ['inventories/example'], args: ['--graph', 'dc2'] },
  { sources: ['inventories/example'], args: ['--host', 'hv-dc2-r1-01.example.net'] },
  { sources: ['test/fixtures/inventory/typed.ini'], args: ['--host', 'hv08'] },
  { sources: ['test/fixtures/inventory/nested/hosts.yml'], args: ['--host', 'localhost'] },
];

const run = promisify(execFile);
// An empty ansible.cfg keeps the user's configuration and plugins out of the comparison.
let configDir = '';
const outputs = new Map<string, string>();
const key = (sources: string[], args: string[]): string => [...sources, '|', ...args].join(' ');

async function ansibleInventory(sources: string[], args: string[]): Promise<void> {
  const { stdout } = await run('ansible-inventory', [...sources.flatMap((s) => ['-i', rootPath(s)]), ...args], {
    cwd: configDir,
    env: { ...process.env, ANSIBLE_CONFIG: join(configDir, 'ansible.cfg'), ANSIBLE_INVENTORY_UNPARSED_FAILED: 'true', LC_ALL: 'C.UTF-8' },
    maxBuffer: 64 * 1024 * 1024,
  });
  outputs.set(key(sources, args), stdout);
}

const real = (sources: string[], ...args: string[]): string => {
  const out = outputs.get(key(sources, args));
  assert.ok(out !== undefined, `no ansible-inventory output for ${key(sources, args)}`);
  return out;
};

function withoutMagic(vars: Record<string, unknown>): Record<string, unknown> {
  const out = { ...vars };
  for (const k of MAGIC_VARS) delete out[k];
  return JSON.parse(JSON.stringify(out)) as Record<string, unknown>;
}

describe('inventory: identical to the real ansible-inventory', function () {
  this.timeout(120_000);
  before(async function () {
    try {
      execFileSync('ansible-inventory', ['--version'], { stdio: 'ignore' });
    } catch {
      console.log('    ansible-inventory is not installed (apt-get install ansible-core): skipping');
      this.skip();
    }
    configDir = mkdtempSync(join(tmpdir(), 'play-ansible-cfg-'));
    writeFileSync(join(configDir, 'ansible.cfg'), '[defaults]\n');
    // Each call costs ~0.5 s of Python start-up: run them all at once.
    await Promise.all([
      ...SOURCES.flatMap((s) => [ansibleInventory(s, ['--list']), ansibleInventory(s, ['--graph'])]),
      ...EXTRA.map((e) => ansibleInventory(e.sources, e.args)),
    ]);
  });
  after(() => {
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });

  for (const sources of SOURCES) {
    describe(sources.join(' + '), () => {
      it('--list', () => {
        const ours = loadInventory(sources.map((s) => rootPath(s)));
        assert.deepEqual(JSON.parse(JSON.stringify(ours.toList())), JSON.parse(real(sources, '--list')));
      });
      it('--graph', () => {
        const ours = loadInventory(sources.map((s) => rootPath(s)));
        assert.equal(ours.toGraph(), real(sources, '--graph').trimEnd());
      });
      it('hostVars of every host, minus magic variables, equal the hostvars ansible-inventory prints', () => {
        const ours = loadInventory(sources.map((s) => rootPath(s)));
        const hostvars = (JSON.parse(real(sources, '--list')) as { _meta: { hostvars: Record<string, unknown> } })._meta.hostvars;
        assert.ok(ours.hosts.size > 0);
        for (const name of ours.hosts.keys()) assert.deepEqual(withoutMagic(ours.hostVars(name)), hostvars[name] ?? {}, name);
      });
    });
  }

  it('--graph GROUP starts at that group', () => {
    const inv = loadInventory([rootPath('inventories/example')]);
    assert.equal(inv.toGraph('dc2'), real(['inventories/example'], '--graph', 'dc2').trimEnd());
  });

  it('--host NAME, for a YAML and an INI host', () => {
    for (const e of EXTRA.filter((x) => x.args[0] === '--host' && x.args[1] !== 'localhost')) {
      const inv = loadInventory(e.sources.map((s) => rootPath(s)));
      assert.deepEqual(withoutMagic(inv.hostVars(e.args[1])), JSON.parse(real(e.sources, ...e.args)));
    }
  });

  it('--host localhost: the implicit localhost (minus the python interpreter Ansible adds)', () => {
    const sources = ['test/fixtures/inventory/nested/hosts.yml'];
    const inv = loadInventory(sources.map((s) => rootPath(s)));
    const expected = JSON.parse(real(sources, '--host', 'localhost'));
    delete expected.ansible_python_interpreter;
    assert.deepEqual(withoutMagic(inv.hostVars('localhost')), expected);
  });
});
