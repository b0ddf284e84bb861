// `play help templates`: the Handlebars helpers with examples, and the Jinja habits they replace.
import { HELPER_DOCS } from '../lang/template-helpers.js';

/** Jinja an operator writes by habit → the Handlebars that means the same here. */
export const JINJA_EQUIVALENTS: Array<[string, string]> = [
  ["{{ x | default('a') }}", '{{default x "a"}}'],
  ['{{ (speed / 8) | int }}', '{{int (div speed 8)}}'],
  ["{{ peers | join(',') }}", '{{join peers ","}}'],
  ['{{ peers | length }}', '{{len peers}}'],
  ["{{ hosts | map(attribute='ip') | list }}", "{{map_attr hosts 'ip'}}"],
  ['{% if a == b %}…{% else %}…{% endif %}', '{{#if (eq a b)}}…{{else}}…{{/if}}'],
  ['{% for p in peers %}{{ p }}{% endfor %}', '{{#each peers as |p|}}{{p}}{{/each}}'],
  ["{{ hostvars['hv2'].migration_ip }}", '{{hostvars.hv2.migration_ip}} or {{lookup (lookup hostvars "hv2") "migration_ip"}}'],
];

export function templateHelpLines(): string[] {
  const width = Math.max(...HELPER_DOCS.map((d) => d.usage.length));
  const lines = [
    'Templates are Handlebars (noEscape, strict: an undefined variable is an error naming it).',
    'A value that is exactly one {{…}} keeps its type (a list stays a list). `when:` takes expressions, not templates.',
    '',
    'Helpers:',
    ...HELPER_DOCS.map((d) => `  ${d.usage.padEnd(width)}  ${d.summary}`),
    '',
    'Jinja habits and their Handlebars:',
  ];
  const jw = Math.max(...JINJA_EQUIVALENTS.map(([j]) => j.length));
  for (const [j, h] of JINJA_EQUIVALENTS) lines.push(`  ${j.padEnd(jw)}  →  ${h}`);
  return lines;
}
