import assert from 'node:assert/strict';
import { renderString, renderDeep, renderFile, templateVariables, TemplateError, HELPER_DOCS } from '../../engine/lang/template.js';

const where = { file: 'playbooks/x.yml', line: 12, col: 9, task: 'Set MTU', field: 'mtu' };
const vars = {
  mtu: 9000,
  nic: 'eth1',
  peers: ['hv1', 'hv2', 'hv3'],
  net: { mtu: 1500, speed: null },
  hosts: [{ name: 'hv1', ip: '198.18.10.1' }, { name: 'hv2', ip: '198.18.10.2' }],
  flag: 'yes',
  inventory_hostname: 'hv1',
  groups: { hypervisors: ['hv1', 'hv2'] },
  hostvars: { hv1: { migration_ip: '198.18.10.1' }, hv2: { migration_ip: '198.18.10.2' } },
};
const r = (t: string) => renderString(t, vars, where);
const fails = (t: string, message: string) => assert.throws(() => r(t), (e: unknown) => e instanceof TemplateError && e.message === message);

describe('template: rendering', () => {
  it('returns the raw value of a string that is exactly one {{ }}', () => {
    assert.equal(r('{{ mtu }}'), 9000);
    assert.deepEqual(r('{{ peers }}'), ['hv1', 'hv2', 'hv3']);
    assert.deepEqual(r('{{net}}'), { mtu: 1500, speed: null });
    assert.equal(r('{{ net.speed }}'), null);
    assert.equal(r('{{ true }}'), true);
  });

  it('a bare {{ name }} (no Handlebars run) gives what Handlebars gives: the value itself, literals, errors', () => {
    assert.equal(r('{{ peers }}'), vars.peers, 'the same list, not a copy');
    assert.equal(r('{{inventory_hostname}}'), 'hv1');
    const own = { true: 'shadow', null: 'shadow', join: 'shadow', x: null, f: () => 'called' };
    assert.equal(renderString('{{ true }}', own, where), true, 'a literal stays a literal');
    assert.equal(renderString('{{ null }}', own, where), null);
    assert.equal(renderString('{{ x }}', own, where), null);
    fails('{{ nope }}', "playbooks/x.yml:12:9: undefined variable 'nope' in task 'Set MTU' (field mtu)");
    const inherited = Object.create({ up: 1 }) as Record<string, unknown>;
    assert.throws(() => renderString('{{ up }}', inherited, where), TemplateError, 'inherited names are not variables');
  });

  it('renders anything else to text: no HTML escaping, containers as JSON', () => {
    assert.equal(r('mtu {{ mtu }} on {{ nic }}'), 'mtu 9000 on eth1');
    assert.equal(r(' {{ mtu }}'), ' 9000');
    assert.equal(r('{{ nic }}<&>"\''), 'eth1<&>"\'');
    assert.equal(r('peers={{ peers }}'), 'peers=["hv1","hv2","hv3"]');
    assert.equal(r('no template'), 'no template');
  });

  it('renders nested structures, keys included', () => {
    assert.deepEqual(renderDeep({ 'dev_{{ nic }}': ['{{ mtu }}', 'x{{ nic }}', 3, true, null] }, vars, where), { dev_eth1: [9000, 'xeth1', 3, true, null] });
  });

  it('names the undefined variable, the task, the field and the position', () => {
    fails('{{ mtu_target }}', "playbooks/x.yml:12:9: undefined variable 'mtu_target' in task 'Set MTU' (field mtu)");
    fails('x {{ net.mtux }}', "playbooks/x.yml:12:9: undefined variable 'net.mtux' ('net' has no member 'mtux') in task 'Set MTU' (field mtu)");
    fails('{{ nope.a.b }}', "playbooks/x.yml:12:9: undefined variable 'nope' in task 'Set MTU' (field mtu)");
    fails('{{ net.speed.x }}', "playbooks/x.yml:12:9: undefined variable 'net.speed.x' ('net.speed' is null) in task 'Set MTU' (field mtu)");
    // Helper arguments and block parameters are strict too (Handlebars alone is lenient there).
    fails('{{ join nics "," }}', "playbooks/x.yml:12:9: undefined variable 'nics' in task 'Set MTU' (field mtu)");
    fails('{{#each nics}}{{this}}{{/each}}', "playbooks/x.yml:12:9: undefined variable 'nics' in task 'Set MTU' (field mtu)");
    fails('{{#each hosts}}{{nam}}{{/each}}', "playbooks/x.yml:12:9: undefined variable 'nam' in task 'Set MTU' (field mtu)");
  });

  it('never reaches prototype members', () => {
    fails('{{ net.constructor }}', "playbooks/x.yml:12:9: undefined variable 'net.constructor' ('net' has no member 'constructor') in task 'Set MTU' (field mtu)");
    fails('{{ peers.__proto__ }}', "playbooks/x.yml:12:9: undefined variable 'peers.__proto__' ('peers' has no member '__proto__') in task 'Set MTU' (field mtu)");
    assert.equal(r('{{ lookup net "constructor" }}'), undefined);
  });

  it('reports syntax errors, unknown helpers and partials as TemplateError', () => {
    assert.throws(() => r('{{ mtu'), (e: Error) => /^playbooks\/x\.yml:12:9: template syntax error: .* in task 'Set MTU' \(field mtu\)$/.test(e.message));
    fails('{{ frob mtu }}', "playbooks/x.yml:12:9: unknown helper 'frob' in task 'Set MTU' (field mtu)");
    fails('{{#nic}}x{{/nic}}', "playbooks/x.yml:12:9: unknown helper 'nic' (a section needs a block helper: {{#if nic}} or {{#each nic}}) in task 'Set MTU' (field mtu)");
    fails('{{> header }}', "playbooks/x.yml:12:9: template syntax error: partials are not supported in task 'Set MTU' (field mtu)");
  });

  it('template files point at the line inside the file', () => {
    assert.throws(
      () => renderFile('# qemu.conf\nmigrate_tls_force = {{ tls_force }}\n', vars, { file: 'templates/qemu.conf.hbs' }),
      (e: unknown) => e instanceof TemplateError && e.message === "templates/qemu.conf.hbs:2:24: undefined variable 'tls_force'" && e.variable === 'tls_force',
    );
    assert.equal(renderFile('{{#each hosts}}{{name}} {{ip}}\n{{/each}}', vars, { file: 't' }), 'hv1 198.18.10.1\nhv2 198.18.10.2\n');
    assert.equal(renderFile('{{ mtu }}', vars, { file: 't' }), '9000', 'a file is always text');
  });
});

describe('template: helpers', () => {
  const table: Array<[string, unknown]> = [
    ['{{ default mtu_target 1500 }}', 1500],
    ['{{ default mtu 1500 }}', 9000],
    ['{{ default net.speed 10 }}', 10],
    ['{{ default nope.deep.path "d" }}', 'd'],
    ['{{ join peers ", " }}', 'hv1, hv2, hv3'],
    ['{{ join peers }}', 'hv1hv2hv3'],
    ['{{ eq mtu 9000 }}', true],
    ['{{ eq mtu "9000" }}', false],
    ['{{ ne nic "lo" }}', true],
    ['{{ lt 1 2 }}', true],
    ['{{ gt mtu 1500 }}', true],
    ['{{ and mtu nic }}', true],
    ['{{ and mtu "" }}', false],
    ['{{ or 0 nic }}', true],
    ['{{ not peers }}', false],
    ['{{ lookup hostvars "hv2" }}', { migration_ip: '198.18.10.2' }],
    ['{{ hostvars.hv1.migration_ip }}', '198.18.10.1'],
    ['{{ lookup (lookup hostvars inventory_hostname) "migration_ip" }}', '198.18.10.1'],
    ['{{ json net }}', '{"mtu":1500,"speed":null}'],
    ['{{ upper nic }}', 'ETH1'],
    ['{{ lower "ETH1" }}', 'eth1'],
    ['{{ int "9000" }}', 9000],
    ['{{ int "x" 7 }}', 7],
    ['{{ bool flag }}', true],
    ['{{ bool "off" }}', false],
    ['{{ len peers }}', 3],
    ['{{ contains peers "hv2" }}', true],
    ['{{ in "hv4" peers }}', false],
    ['{{ concat "a" mtu }}', 'a9000'],
    ['{{ concat peers (list "hv4") }}', ['hv1', 'hv2', 'hv3', 'hv4']],
    ['{{ add mtu 28 }}', 9028],
    ['{{ sub mtu 28 }}', 8972],
    ['{{ mul 2 3 }}', 6],
    ['{{ div 9 2 }}', 4.5],
    ['{{ indent "a\nb\n\nc" 2 }}', 'a\n  b\n\n  c'],
    ['{{ indent "a\nb" 2 first=true }}', '  a\n  b'],
    ['{{ without peers inventory_hostname }}', ['hv2', 'hv3']],
    ['{{ map_attr hosts "ip" }}', ['198.18.10.1', '198.18.10.2']],
    ['{{ map_attr (hostvars_of groups.hypervisors) "migration_ip" }}', ['198.18.10.1', '198.18.10.2']],
    ['{{#if (eq nic "eth1")}}yes{{else}}no{{/if}}', 'yes'],
    ['{{#if undefined_flag}}yes{{else}}no{{/if}}', 'no'],
    ['{{#unless (contains peers "hv9")}}absent{{/unless}}', 'absent'],
    ['{{#each peers}}{{@index}}={{this}};{{/each}}', '0=hv1;1=hv2;2=hv3;'],
    ['{{#each hosts as |h|}}{{h.name}}@{{@root.nic}} {{/each}}', 'hv1@eth1 hv2@eth1 '],
  ];
  for (const [t, want] of table) it(t, () => assert.deepEqual(r(t), want));

  it('checks helper arguments', () => {
    fails('{{ div 1 0 }}', "playbooks/x.yml:12:9: template error: helper 'div': division by zero in task 'Set MTU' (field mtu)");
    fails('{{ join mtu }}', "playbooks/x.yml:12:9: template error: helper 'join' needs a list, got 9000 in task 'Set MTU' (field mtu)");
    fails('{{ eq mtu }}', "playbooks/x.yml:12:9: template error: helper 'eq' takes 2 arguments, got 1 in task 'Set MTU' (field mtu)");
    fails('{{ lt mtu "x" }}', "playbooks/x.yml:12:9: template error: cannot compare int with str in task 'Set MTU' (field mtu)");
  });

  it('documents every helper it registers', () => {
    const names = HELPER_DOCS.map((d) => d.name);
    for (const n of ['default', 'join', 'eq', 'ne', 'lt', 'gt', 'and', 'or', 'not', 'lookup', 'json', 'upper', 'lower', 'int', 'bool', 'len', 'contains', 'in', 'concat', 'add', 'sub', 'mul', 'div', 'indent']) {
      assert.ok(names.includes(n), n);
    }
    for (const d of HELPER_DOCS) assert.ok(d.summary && d.usage.includes(d.name), d.name);
  });
});

describe('template: templateVariables', () => {
  const table: Array<[string, string[]]> = [
    ['plain text', []],
    ['{{ mtu }} {{ net.mtu }} {{ mtu }}', ['mtu', 'net']],
    ['{{ join peers sep }}', ['peers', 'sep']],
    ['{{ default override 1 }}', []],
    ['{{ default override fallback }}', ['fallback']],
    ['{{#if opt}}{{opt.x}}{{/if}}{{other}}', ['other']],
    ['{{#each hosts}}{{name}}{{@index}}{{/each}}', ['hosts']],
    ['{{#each hosts as |h|}}{{h.ip}}{{@root.domain}}{{/each}}', ['hosts', 'domain']],
    ['{{#each hosts}}x{{else}}{{empty_msg}}{{/each}}', ['hosts', 'empty_msg']],
    ['{{ len }}{{ lookup hostvars inventory_hostname }}', ['hostvars', 'inventory_hostname']],
    ['{{ add (int a) b.c }}', ['a', 'b']],
  ];
  for (const [t, want] of table) it(t, () => assert.deepEqual(templateVariables(t), want));

  it('throws on syntax errors and unknown helpers, with the column', () => {
    assert.throws(() => templateVariables('echo {{ frob x }}'), (e: unknown) => e instanceof TemplateError && e.message === "unknown helper 'frob' at column 9");
    // The column of the offending token in its own line, not in Handlebars' 20-character excerpt.
    assert.throws(() => templateVariables('a\n{{ x'), (e: Error) => /^template syntax error: .* at line 2 column 4$/.test(e.message));
  });
});
