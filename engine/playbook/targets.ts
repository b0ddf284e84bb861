// What a run targets: `hosts:` patterns rendered with the variables Ansible has at play level,
// and patterns or --limit names that select nothing refused (a typo must not become a quiet
// run on no host, or on fewer hosts than asked for).
import { PlayError } from '../errors.js';
import { closest } from '../module/schema.js';
import { renderString, TemplateError } from '../lang/template.js';
import type { Inventory } from '../inventory/index.js';
import type { Play } from './types.js';

/** The inventory's names a misspelt term was probably meant to be. */
function hint(inventory: Inventory, term: string): string {
  const h = closest(term.replace(/^[!&]/, ''), [...inventory.groups.keys(), ...inventory.hosts.keys()]);
  return h ? ` (did you mean '${h}'?)` : '';
}

function where(inventory: Inventory): string {
  return inventory.sources.length ? ` in ${inventory.sources.join(', ')}` : '';
}

/**
 * Why a pattern cannot be used as given, or undefined: a term that names no host or group, or a
 * pattern that as a whole selects no host (an empty group, an intersection with nothing).
 */
export function emptyPatternProblem(inventory: Inventory, pattern: string, what: string): string | undefined {
  const unknown = inventory.unmatched(pattern);
  if (unknown.length) {
    const names = unknown.map((t) => `'${t}'${hint(inventory, t)}`).join(', ');
    return `${what} '${pattern}': no host or group named ${names}${where(inventory)}`;
  }
  if (inventory.select(pattern).length === 0) return `${what} '${pattern}' matched no hosts${where(inventory)}`;
  return undefined;
}

/**
 * `hosts: "{{ target }}"`: rendered with the play's vars, the inventory's `all` group vars and
 * -e (highest), as Ansible renders it before any host is known. A pattern without braces is
 * returned as written.
 */
export function renderHostsPattern(play: Play, inventory: Inventory, extraVars: Record<string, unknown>): string {
  if (!play.hosts.includes('{{')) return play.hosts;
  const vars = { ...(inventory.groups.get('all')?.vars ?? {}), ...play.vars, ...extraVars };
  const pos = play.keyPos.hosts ?? play.pos;
  let v: unknown;
  try {
    v = renderString(play.hosts, vars, { file: pos.file, line: pos.line, col: pos.col, field: 'hosts' });
  } catch (e) {
    if (!(e instanceof TemplateError) || e.variable === undefined) throw e;
    const root = e.variable.split('.')[0];
    throw new PlayError(`'${play.hosts}' uses '${e.variable}', which is not defined before any host is chosen: pass -e ${root}=…, or set it in the play's vars or the inventory's all vars`);
  }
  const out = Array.isArray(v) ? v.map(String).join(':') : String(v ?? '');
  if (out.trim() === '') throw new PlayError(`hosts: '${play.hosts}' rendered to an empty pattern`);
  return out;
}
