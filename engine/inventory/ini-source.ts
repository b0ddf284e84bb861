// Reads an Ansible INI inventory: `[group]`, `[group:vars]`, `[group:children]`, host lines with
// typed `k=v` variables. A port of Ansible's ini plugin (section rules, pending child groups,
// shlex tokenising, literal_eval typing) that reports every problem instead of the first.
import type { SourcePos } from '../errors.js';
import { expandOrReport } from './host-range.js';
import { pythonLiteral } from './python-literal.js';
import { shlexSplit, ShlexError } from './shlex.js';
import { setKey, type InventoryData } from './data.js';

const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending {
  line: number;
  state: 'vars' | 'children';
  parents: string[];
}

export function readIniInventory(inv: InventoryData, file: string, text: string): void {
  const lines = text.split(/\r\n|\n|\r/);
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state = 'hosts';
  let skipSection = false;
  const at = (line: number, col = 1): SourcePos => ({ file, line, col });

  const addPendingChildren = (name: string): void => {
    const p = pending.get(name);
    if (!p) return;
    pending.delete(name);
    for (const parent of p.parents) {
      inv.addChild(parent, name, at(p.line));
      if (pending.get(parent)?.state === 'children') addPendingChildren(parent);
    }
  };

  for (let n = 1; n <= lines.length; n++) {
    const raw = lines[n - 1];
    const line = raw.trim();
    if (!line || line[0] === ';' || line[0] === '#') continue;
    const col = raw.indexOf(line[0]) + 1;
    const m = SECTION.exec(line);
    if (m) {
      group = m[1];
      state = m[2] ?? 'hosts';
      skipSection = false;
      if (!['hosts', 'children', 'vars'].includes(state)) {
        inv.problems.push({ pos: at(n, col), message: `section [${m[1]}:${state}] has unknown type '${state}' (expected hosts, vars or children)` });
        skipSection = true;
        continue;
      }
      if (!inv.groups.has(group)) {
        if (state === 'vars' && !pending.has(group)) pending.set(group, { line: n, state: 'vars', parents: [] });
        inv.addGroup(group);
      }
      const p = pending.get(group);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(group);
        else pending.delete(group);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      inv.problems.push({ pos: at(n, col), message: `invalid section '${line}': no spaces are allowed, write [group], [group:vars] or [group:children]` });
      skipSection = true;
      continue;
    }
    if (skipSection) continue;
    if (state === 'hosts') readHostLine(inv, group, line, at(n, col));
    else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) {
        inv.problems.push({ pos: at(n, col), message: `expected key=value in [${group}:vars], got '${line}'` });
        continue;
      }
      inv.setGroupVar(group, line.slice(0, eq).trim(), pythonLiteral(line.slice(eq + 1).trim()), at(n, col));
    } else {
      const gm = GROUP_NAME.exec(line);
      if (!gm) {
        inv.problems.push({ pos: at(n, col), message: `expected a group name in [${group}:children], got '${line}'` });
        continue;
      }
      const child = gm[1];
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: n, state: 'children', parents: [group] });
        else p.parents.push(group);
      } else inv.addChild(group, child, at(n, col));
    }
  }
  for (const [name, p] of pending) {
    if (p.state === 'vars') inv.problems.push({ pos: at(p.line), message: `section [${name}:vars] is for a group that is not defined anywhere: ${name}` });
    else inv.problems.push({ pos: at(p.line), message: `section [${p.parents[p.parents.length - 1]}:children] names a group that is not defined anywhere: ${name}` });
  }
}

function readHostLine(inv: InventoryData, group: string, line: string, pos: SourcePos): void {
  let tokens: string[];
  try {
    tokens = shlexSplit(line);
  } catch (e) {
    if (e instanceof ShlexError) {
      inv.problems.push({ pos, message: `cannot parse host line '${line}': ${e.message}` });
      return;
    }
    throw e;
  }
  if (tokens.length === 0) return; // only a comment after all
  const pattern = tokens[0];
  const expanded = expandOrReport(pattern, inv.problems, pos);
  if (!expanded) return;
  if (pattern.trim().endsWith(':') && expanded.port === undefined) {
    inv.problems.push({ pos, message: `host '${pattern}' ends with ':', which is reserved for a port (host:2222)` });
    return;
  }
  if (expanded.hosts.some((h) => h.trim() === '---')) {
    inv.problems.push({ pos, message: `host '${pattern}' looks like a YAML document start: is this a YAML file with an INI name?` });
    return;
  }
  const vars: Record<string, unknown> = {};
  let ok = true;
  for (const t of tokens.slice(1)) {
    const eq = t.indexOf('=');
    if (eq < 0) {
      inv.problems.push({ pos, message: `expected key=value host variable after '${pattern}', got '${t}'` });
      ok = false;
      continue;
    }
    setKey(vars, t.slice(0, eq), pythonLiteral(t.slice(eq + 1)));
  }
  if (!ok) return;
  for (const host of expanded.hosts) {
    const h = inv.addHost(host, group, expanded.port);
    for (const k of Object.keys(vars)) setKey(h.vars, k, vars[k]);
  }
}
