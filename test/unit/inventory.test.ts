// Inventory loading: precedence, magic variables, sources, and every problem at file:line:col.
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import { ValidationError } from '../../engine/errors.js';
import { loadInventory } from '../../engine/inventory/index.js';

const fx = (...p: string[]): string => rootPath('test/fixtures/inventory', ...p);

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ValidationError) return e.message.split('\n');
    throw e;
  }
  assert.fail('expected a ValidationError');
}

describe('inventory: variable precedence', () => {
  const inv = loadInventory([fx('nested/hosts.yml')]);
  it('all < parent < child < host; group_vars/ files beat inventory group vars; host_vars/ beat host vars', () => {
    const v = inv.hosts.get('hv03.dc1')!.vars;
    assert.equal(v.tier, 'dc1'); // dc1 (depth 2) over hypervisors (1) over all (0)
    assert.equal(v.migration_mtu, 9000); // group_vars/all.yml over all: vars in the inventory
    assert.equal(v.libvirt_uri, 'qemu+ssh:///system'); // group_vars/hypervisors/ over the inventory
    assert.equal(v.datacenter, 'dc1-from-json'); // group_vars/dc1/vars.json
    assert.deepEqual(v.migration, { max_bandwidth_mib: 512, downtime_ms: 300 }); // later file of the directory wins, no deep merge
    assert.equal(v.rack, 'r1');
    assert.equal(v.from_dir, 'hypervisors');
    assert.equal(v.ignored, undefined); // notes.txt and the ~ backup are not vars files
    const hv01 = inv.hosts.get('hv01.dc1')!.vars;
    assert.equal(hv01.rack, 'r1-host-vars');
    assert.equal(hv01.tier, 'host_vars');
    assert.equal(hv01.role, 'both-racks');
  });
  it('ansible_group_priority orders groups of the same depth; in a group_vars file it is only a variable', () => {
    const p = loadInventory([fx('priority.yml')]);
    assert.equal(p.hosts.get('h1')!.vars.who, 'beta'); // alpha < beta by name
    assert.equal(p.hosts.get('h2')!.vars.who, 'beta'); // zeta has priority -1: it goes first
    assert.equal(p.hosts.get('h3')!.vars.who, 'delta'); // deeper group wins whatever the name
    assert.equal(inv.hosts.get('hv01.dc1')!.vars.ansible_group_priority, 99);
    assert.equal(inv.groups.get('storage')!.priority, 10);
    assert.equal(inv.hosts.get('st1')!.vars.tier, 'storage');
  });
  it('a port in the host name becomes ansible_port', () => {
    assert.equal(inv.hosts.get('hv-x.dc2')!.vars.ansible_port, 2222);
  });
});

describe('inventory: structure and magic variables', () => {
  const inv = loadInventory([fx('nested/hosts.yml')]);
  it('expands ranges with padding, strides and letters, keeping file order', () => {
    assert.deepEqual(inv.groups.get('dc1_rack1')!.hosts, ['hv01.dc1', 'hv02.dc1', 'hv03.dc1', 'hv04.dc1']);
    assert.deepEqual(inv.groups.get('dc1_rack2')!.hosts, ['hv05.dc1', 'hv08.dc1', 'hv01.dc1']);
    assert.deepEqual(inv.groups.get('dc2')!.hosts, ['hv-a.dc2', 'hv-b.dc2', 'hv-c.dc2', 'hv-x.dc2']);
  });
  it('lists a host in every group it belongs to, ancestors and all included', () => {
    assert.deepEqual(inv.hosts.get('hv01.dc1')!.groups, ['all', 'hypervisors', 'storage', 'dc1', 'dc1_rack1', 'dc1_rack2']);
    assert.deepEqual(inv.groups.get('dc1')!.parents, ['hypervisors']);
    assert.deepEqual(inv.groups.get('all')!.children, ['ungrouped', 'hypervisors', 'storage', 'canary', 'empty_group']);
    assert.deepEqual(inv.groups.get('ungrouped')!.hosts, ['jump.example.net']);
  });
  it('adds the magic variables Ansible provides at play time', () => {
    const v = inv.hostVars('hv01.dc1');
    assert.equal(v.inventory_hostname, 'hv01.dc1');
    assert.equal(v.inventory_hostname_short, 'hv01');
    assert.deepEqual(v.group_names, ['dc1', 'dc1_rack1', 'dc1_rack2', 'hypervisors', 'storage']);
    const groups = v.groups as Record<string, string[]>;
    assert.deepEqual(groups.storage, ['hv01.dc1', 'st1', 'st2', 'st3']);
    assert.equal(groups.all.length, 14);
    assert.equal(v.inventory_file, fx('nested/hosts.yml'));
    assert.equal(inv.hostVars('jump.example.net').inventory_hostname_short, 'jump');
    // Ansible keeps `ungrouped` in group_names (ansible -m debug -a var=group_names shows it).
    assert.deepEqual(inv.hostVars('jump.example.net').group_names, ['ungrouped']);
    assert.equal(inv.hosts.get('hv01.dc1')!.vars.inventory_hostname, undefined);
  });
  it('provides an implicit localhost with a local connection when a pattern names it', () => {
    assert.deepEqual(inv.select('localhost'), ['localhost']);
    assert.equal(inv.hosts.has('localhost'), false);
    const v = inv.hostVars('localhost');
    assert.equal(v.ansible_connection, 'local');
    assert.equal(v.migration_mtu, 9000);
    assert.deepEqual(v.group_names, []);
    assert.throws(() => inv.hostVars('nosuch'), /not in the inventory/);
  });
});

describe('inventory: sources', () => {
  it('reads every file of an inventory directory, skipping .ini and group_vars', () => {
    const inv = loadInventory([fx('dir-source')]);
    assert.deepEqual([...inv.hosts.keys()], ['kvm1', 'kvm2', 'kvm3', 'prom1']);
    assert.deepEqual(inv.hosts.get('kvm3')!.vars, { extra: 1, dir_all: true, kvm_only: true });
    assert.deepEqual(inv.select('monitoring'), ['prom1', 'kvm1', 'kvm2', 'kvm3']);
  });
  it('merges several sources, each with its own group_vars', () => {
    const inv = loadInventory([fx('nested/hosts.yml'), fx('typed.ini')]);
    assert.equal(inv.hosts.size, 24);
    assert.deepEqual(inv.sources, [fx('nested/hosts.yml'), fx('typed.ini')]);
    assert.equal(inv.hosts.get('hv01')!.vars.migration_mtu, 9000); // group_vars/all of the first source
  });
  it('accepts a comma-separated host list', () => {
    const inv = loadInventory(['hv1,hv2:2222,']);
    assert.deepEqual(inv.select('all'), ['hv1', 'hv2']);
    assert.equal(inv.hosts.get('hv2')!.vars.ansible_port, 2222);
  });
  it('types INI values as Ansible does', () => {
    const inv = loadInventory([fx('typed.ini')]);
    const v = inv.hosts.get('hv01')!.vars;
    assert.deepEqual(v.numa, [0, 1]);
    assert.deepEqual(v.labels, { dc: 'dc1', racks: [1, 2] });
    assert.equal(v.max_bandwidth, 128);
    assert.equal(v.as_string, '128');
    assert.equal(v.yes_value, 'yes');
    assert.equal(v.bool_value, false);
    assert.equal(inv.hosts.get('bastion')!.vars.zero_padded, '010');
    assert.deepEqual(inv.select('edge'), ['hv01', 'hv02', 'hv03', 'hv08', 'hv10', 'hv-x', 'hv-y', 'hv-z', 'edge1']);
  });
});

describe('inventory: problems at file:line:col', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-inv-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const write = (name: string, text: string): string => {
    const p = join(dir, name);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, text);
    return p;
  };

  it('reports every YAML structure problem at once', () => {
    const p = write('bad.yml', [
      'all:', //                       1
      '  children:', //                2
      '    web:', //                   3
      '      hosts: [w1, w2]', //      4
      '    db:', //                    5
      '      host:', //                6
      '        d1:', //                7
      '    app:', //                   8
      '      hosts:', //               9
      '        a1: just-a-string', //  10
      '        a[1:x]:', //            11
      '      vars: [1]', //            12
      'hosts:', //                     13
      '  h1:', //                      14
      '',
    ].join('\n'));
    const msgs = problemsOf(() => loadInventory([p]));
    const at = (line: number) => msgs.find((m) => m.includes(`bad.yml:${line}:`)) ?? `(nothing at line ${line} in ${msgs.join(' | ')})`;
    assert.match(at(4), /'hosts' of group 'web' must be a mapping, got a list/);
    assert.match(at(6), /unknown key 'host' in group 'db'/);
    assert.match(at(10), /host 'a1' in group 'app': host variables must be a mapping/);
    assert.match(at(11), /host 'a\[1:x\]': host range \[1:x\] must be numbers or single letters/);
    assert.match(at(12), /'vars' of group 'app' must be a mapping/);
    assert.match(at(13), /top-level key 'hosts'/);
    assert.equal(msgs.length, 6);
  });
  it('reports YAML syntax errors and group loops with positions', () => {
    assert.match(problemsOf(() => loadInventory([write('syntax.yml', 'all:\n  hosts:\n    a: [\n')]))[0], /syntax\.yml:\d+:\d+: YAML syntax error/);
    const loop = write('loop.yml', 'a:\n  children:\n    b:\n      children:\n        a:\n');
    assert.match(problemsOf(() => loadInventory([loop]))[0], /loop\.yml:3:5: adding group 'b' as a child of 'a' creates a loop \(b is already an ancestor of a\)/);
  });
  it('reports INI problems with line numbers', () => {
    const p = write('bad.ini', [
      '[web]', //                  1
      'w1 ansible_port', //        2
      'w2 x="unclosed', //         3
      '[web:bogus]', //            4
      'ignored', //                5
      '[ db ]', //                 6
      '[web:vars]', //             7
      'novalue', //                8
      '[ops:children]', //         9
      'missing', //                10
      '[ghost:vars]', //           11
      'a=1', //                    12
      'h[1:3:0]', //               13
      '',
    ].join('\n'));
    const msgs = problemsOf(() => loadInventory([p]));
    assert.deepEqual(msgs.map((m) => /bad\.ini:(\d+):/.exec(m)?.[1]), ['2', '3', '4', '6', '8', '13', '10', '11']);
    assert.match(msgs[0], /expected key=value host variable after 'w1', got 'ansible_port'/);
    assert.match(msgs[1], /No closing quotation/);
    assert.match(msgs[2], /unknown type 'bogus'/);
    assert.match(msgs[6], /names a group that is not defined anywhere: missing/);
  });
  it('reports broken group_vars/host_vars files and a missing source', () => {
    write('gv/hosts.yml', 'all:\n  hosts:\n    h1:\n');
    write('gv/group_vars/all.yml', '- a\n- b\n');
    write('gv/host_vars/h1.yml', 'a: [\n');
    const msgs = problemsOf(() => loadInventory([join(dir, 'gv/hosts.yml'), join(dir, 'nope.yml')]));
    assert.equal(msgs.length, 3);
    assert.ok(msgs.some((m) => /nope\.yml: inventory not found/.test(m)));
    assert.ok(msgs.some((m) => /group_vars\/all\.yml:1:1: a variables file must be a mapping/.test(m)));
    assert.ok(msgs.some((m) => /host_vars\/h1\.yml:\d+:\d+: YAML syntax error/.test(m)));
  });
  it('warns about a group_vars file that matches no group', () => {
    write('typo/hosts.yml', 'hypervisors:\n  hosts:\n    h1:\n');
    write('typo/group_vars/hypervisor.yml', 'a: 1\n');
    assert.deepEqual(loadInventory([join(dir, 'typo/hosts.yml')]).warnings.map((w) => w.replace(/.*group_vars\//, '')), ['hypervisor.yml matches no group of the inventory']);
  });

  it('loads a 10,000-host fleet written with ranges and group_vars', () => {
    const racks = Array.from({ length: 50 }, (_, r) => `        rack${r}:\n          hosts:\n            hv[001:200].r${r}.dc1:\n`).join('');
    const p = write('big/hosts.yml', `all:\n  children:\n    dc1:\n      children:\n${racks}`);
    write('big/group_vars/dc1.yml', 'migration_mtu: 9000\n');
    write('big/group_vars/rack7.yml', 'rack: 7\n');
    write('big/host_vars/hv042.r7.dc1.yml', 'special: true\n');
    const inv = loadInventory([p]);
    assert.equal(inv.hosts.size, 10_000);
    assert.equal(inv.select('all').length, 10_000);
    assert.equal(inv.select('rack7').length, 200);
    assert.deepEqual(inv.hosts.get('hv042.r7.dc1')!.vars, { migration_mtu: 9000, rack: 7, special: true });
    assert.deepEqual(inv.hosts.get('hv200.r49.dc1')!.groups, ['all', 'dc1', 'rack49']);
    assert.equal((inv.hostVars('hv001.r0.dc1').groups as Record<string, string[]>).dc1.length, 10_000);
  });
});
