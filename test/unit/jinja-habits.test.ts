// Jinja written by habit gets the Handlebars equivalent; an unquoted {{ gets Ansible's advice;
// Ansible's key=value arguments are read, or refused clearly.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderString, renderFile, TemplateError } from '../../engine/lang/template.js';
import { jinjaProblem } from '../../engine/lang/template-jinja.js';
import { loadPlaybook } from '../../engine/playbook/load.js';
import { ValidationError } from '../../engine/errors.js';
import { templateHelpLines } from '../../engine/output/help-templates.js';

const where = { file: 'site.yml', line: 7, col: 9, field: 'msg' };

describe('Jinja habits', () => {
  it('a filter is refused with the Handlebars equivalent, never a parser token dump', () => {
    assert.throws(() => renderString("{{ x | default('a') }}", {}, where), (e: TemplateError) => {
      assert.equal(e.message, `site.yml:7:9: '{{ x | default('a') }}' is Jinja syntax; templates here are Handlebars: write {{default x "a"}} (field msg)`);
      return true;
    });
    assert.match(jinjaProblem('{{ (link_speed_mbit / 8) | int }}')!.message, /write \{\{int \(div link_speed_mbit 8\)\}\}$/);
    assert.match(jinjaProblem("{{ peers | map(attribute='ip') | join(',') }}")!.message, /write \{\{join \(map_attr peers "ip"\) ","\}\}$/);
    assert.match(jinjaProblem('{{ x | trim }}')!.message, /the Jinja filter 'trim' has no Handlebars helper/);
  });

  it('a {% for %} or {% if %} in a template file is refused at its line, with the block helper', () => {
    assert.throws(() => renderFile('a\n{% for p in peers %}\n{{p}}\n{% endfor %}\n', { peers: [] }, { file: 'x.j2' }), /x\.j2:2:1: '\{% for p in peers %\}' is Jinja syntax; templates here are Handlebars: write \{\{#each peers as \|p\|\}\}…\{\{\/each\}\}/);
    assert.match(jinjaProblem("{% if mtu == 9000 %}")!.message, /\{\{#if \(eq mtu 9000\)\}\}/);
  });

  it('leaves Handlebars alone, block params and quoted pipes included', () => {
    for (const t of ['{{#each x as |y|}}{{y}}{{/each}}', '{{default x "a|b"}}', 'a | b', '{{json v indent=2}}', '{{ and mtu nic }}', '{{ in "hv4" peers }}', '{{ not peers }}', '{{#if (or a b)}}x{{/if}}']) assert.equal(jinjaProblem(t), undefined, t);
  });

  it('play help templates lists every helper with an example and the Jinja equivalents', () => {
    const text = templateHelpLines().join('\n');
    for (const h of ['{{default value fallback}}', '{{#each list as |item|}}', '{{div a b}}', '{{map_attr list']) assert.ok(text.includes(h), h);
    assert.match(text, /\{\{ x \| default\('a'\) \}\}\s+→\s+\{\{default x "a"\}\}/);
  });
});

describe('playbook habits from Ansible', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-jinja-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  const problems = (yaml: string): string[] => {
    const f = join(dir, 'p.yml');
    writeFileSync(f, yaml);
    try {
      loadPlaybook(f);
      return [];
    } catch (e) {
      if (!(e instanceof ValidationError)) throw e;
      return e.problems.map((p) => `${p.pos?.line}:${p.pos?.col}: ${p.message}`);
    }
  };
  const task = (t: string) => `- hosts: all\n  gather_facts: false\n  tasks:\n    - ${t}\n`;

  it('msg: {{x}} unquoted says to quote it', () => {
    assert.deepEqual(problems(task('debug:\n        msg: {{x}}')), ['5:14: a value starting with {{ was read as a YAML mapping: quote a value that starts with {{ (msg: "{{ x }}"), as in Ansible']);
    assert.match(problems(task('debug:\n        msg: {{ x }} and more'))[0], /YAML syntax error: .*; quote a value that starts with \{\{/);
  });

  it("key=value arguments are read when every word is one, refused clearly otherwise; command keeps its a=b", () => {
    assert.deepEqual(problems(task('debug: msg="hello world"')), []);
    assert.deepEqual(problems(task('package: name=hello state=absent')), []);
    assert.match(problems(task('debug: msg=hello world'))[0], /4:7: debug: 'msg=hello world' reads as Ansible's key=value arguments, but 'world' is not one of msg, var: quote a value with spaces/);
    assert.deepEqual(problems(task('command: env a=b true')), []);
    const pb = join(dir, 'kv.yml');
    writeFileSync(pb, task('package: name=hello state=absent'));
    const t = loadPlaybook(pb).plays[0].tasks[0];
    assert.ok(t.kind === 'task');
    assert.deepEqual(t.params, { name: 'hello', state: 'absent' });
  });
});
