// Reads an Ansible YAML inventory (groups with hosts / vars / children, nested) into InventoryData.
// Where Ansible only warns and skips (a list where a mapping belongs, an unknown key), we report a
// problem at file:line:col: a skipped line in an inventory is a host silently left out of a run.
import type { YamlDoc } from '../yaml.js';
import type { SourcePos } from '../errors.js';
import { expandOrReport } from './host-range.js';
import { setKey, type InventoryData } from './data.js';

const SECTIONS = ['vars', 'children', 'hosts'];

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date);

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'a mapping' : `a ${typeof v} (${JSON.stringify(v)})`);

export function readYamlInventory(inv: InventoryData, doc: YamlDoc): void {
  const data = doc.data;
  const top = doc.pos(data);
  if (data === null || data === undefined) {
    inv.problems.push({ pos: top, message: 'empty YAML inventory' });
    return;
  }
  if (!isMapping(data)) {
    inv.problems.push({ pos: top, message: `a YAML inventory is a mapping of groups (e.g. 'all:'), got ${kind(data)}` });
    return;
  }
  if ('plugin' in data) {
    inv.problems.push({ pos: doc.pos(data, 'plugin'), message: 'inventory plugin configuration files are not supported; list the hosts in YAML or INI' });
    return;
  }
  for (const key of Object.keys(data)) {
    if (SECTIONS.includes(key)) {
      inv.problems.push({ pos: doc.pos(data, key), message: `top-level key '${key}' would be a group named '${key}'; a YAML inventory starts with groups, e.g. 'all:' then '  ${key}:'` });
      continue;
    }
    readGroup(inv, doc, key, data[key], doc.pos(data, key));
  }
}

function readGroup(inv: InventoryData, doc: YamlDoc, name: string, body: unknown, at: SourcePos): string | undefined {
  if (body !== null && !isMapping(body)) {
    inv.problems.push({ pos: at, message: `group '${name}' must be a mapping with hosts, vars or children, got ${kind(body)}` });
    return undefined;
  }
  inv.addGroup(name);
  if (body === null) return name;
  for (const key of Object.keys(body)) {
    let section = body[key];
    const pos = doc.pos(body, key);
    if (!SECTIONS.includes(key)) {
      inv.problems.push({ pos, message: `unknown key '${key}' in group '${name}' (expected hosts, vars or children)` });
      continue;
    }
    // Ansible accepts a bare string as a one-entry mapping (`hosts: hv1`).
    if (typeof section === 'string') section = { [section]: null };
    if (section === null) continue;
    if (!isMapping(section)) {
      const hint = Array.isArray(section) ? ` (write '${key}:' as a mapping: '  name:' on its own line, not '- name')` : '';
      inv.problems.push({ pos, message: `'${key}' of group '${name}' must be a mapping, got ${kind(section)}${hint}` });
      continue;
    }
    if (key === 'vars') {
      for (const v of Object.keys(section)) inv.setGroupVar(name, v, section[v], doc.pos(section, v));
    } else if (key === 'children') {
      for (const child of Object.keys(section)) {
        const childPos = doc.pos(section, child);
        const added = readGroup(inv, doc, child, section[child], childPos);
        if (added !== undefined) inv.addChild(name, added, childPos);
      }
    } else {
      for (const pattern of Object.keys(section)) readHost(inv, name, pattern, section[pattern], doc.pos(section, pattern));
    }
  }
  return name;
}

function readHost(inv: InventoryData, group: string, pattern: string, vars: unknown, pos: SourcePos): void {
  if (vars !== null && !isMapping(vars)) {
    inv.problems.push({ pos, message: `host '${pattern}' in group '${group}': host variables must be a mapping (name: value), got ${kind(vars)}` });
    return;
  }
  const expanded = expandOrReport(pattern, inv.problems, pos);
  if (!expanded) return;
  for (const host of expanded.hosts) {
    const h = inv.addHost(host, group, expanded.port);
    if (vars) for (const k of Object.keys(vars)) setKey(h.vars, k, vars[k]);
  }
}
