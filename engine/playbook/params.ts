// A task's module: which key names it (FQCN aliases too), its parameters (free-form string,
// `args:`), their positions, and the schema check done before any host is touched.
import type { SourcePos } from '../errors.js';
import { validateParams, hasTemplate, type SchemaProblem } from '../module/schema.js';
import { validationLines, type Module } from '../module/contract.js';
import { getModule } from '../../modules/index.js';
import { isDict, type Dict, type Reader } from './reader.js';
import { shlexSplit } from '../inventory/shlex.js';

/** Ansible collection prefixes whose modules map onto ours of the same short name. */
const FQCN_PREFIXES = ['ansible.builtin.', 'ansible.legacy.', 'ansible.posix.', 'community.general.'];

/** Our module name for a task key (`ansible.builtin.command` → `command`), if there is one. */
export function resolveModule(key: string): string | undefined {
  if (getModule(key)) return key;
  for (const p of FQCN_PREFIXES) if (key.startsWith(p) && getModule(key.slice(p.length))) return key.slice(p.length);
  return undefined;
}

/** Positions of every key and list item below `node`, keyed by dotted path (`settings.net.core.x`). */
function recordPositions(r: Reader, node: unknown, base: string, out: Record<string, SourcePos>): void {
  if (Array.isArray(node)) {
    node.forEach((v, i) => {
      const p = base ? `${base}.${i}` : String(i);
      out[p] = r.at(node, i);
      recordPositions(r, v, p, out);
    });
  } else if (isDict(node)) {
    for (const [k, v] of Object.entries(node)) {
      const p = base ? `${base}.${k}` : k;
      out[p] = r.at(node, k);
      recordPositions(r, v, p, out);
    }
  }
}

/** Modules whose free-form string is a command line: `a=b` in it is the command's, not ours. */
const COMMAND_LINE = new Set(['command', 'shell']);

/**
 * Ansible's `key=value` arguments (`debug: msg="hello world"`, `package: name=hello state=absent`):
 * accepted when every word is `param=value` for this module; refused with a clear message when
 * the string starts like them but a word is not (`msg=hello world` would lose 'world').
 */
function keyValueArgs(raw: string, mod: Module): { params: Dict } | { problem: string } | undefined {
  if (COMMAND_LINE.has(mod.name)) return undefined;
  const first = /^\s*([A-Za-z_]\w*)=/.exec(raw);
  const names = new Set(Object.entries(mod.params).flatMap(([n, spec]) => [n, ...(spec.aliases ?? [])]));
  if (!first || !names.has(first[1])) return undefined;
  let words: string[];
  try {
    words = shlexSplit(raw);
  } catch {
    return { problem: `cannot read '${raw}' as key=value arguments (an unclosed quote?); write the parameters as a dict` };
  }
  const params: Dict = {};
  for (const w of words) {
    const m = /^([A-Za-z_]\w*)=([\s\S]*)$/.exec(w);
    if (!m || !names.has(m[1])) {
      return { problem: `'${raw}' reads as Ansible's key=value arguments, but '${w}' is not one of ${[...names].sort().join(', ')}: quote a value with spaces (${first[1]}="…") or write a dict (${mod.name}: { ${first[1]}: … })` };
    }
    params[m[1]] = m[2];
  }
  return { params };
}

export interface ModuleCall {
  params: Dict;
  paramPos: Record<string, SourcePos>;
}

/** Reads `module: value` (+ `args:`) into parameters and checks them against the schema. */
export function readModuleCall(r: Reader, task: Dict, key: string, mod: Module): ModuleCall {
  const raw = task[key];
  const keyAt = r.at(task, key);
  const paramPos: Record<string, SourcePos> = {};
  let params: Dict = {};
  // A value of the wrong shape is one problem; checking the schema too would only add noise.
  let usable = true;
  const args = task.args;
  if (args !== undefined && args !== null) {
    if (isDict(args)) {
      params = { ...args };
      recordPositions(r, args, '', paramPos);
    } else r.add(r.at(task, 'args'), `args: expected a dict, got ${JSON.stringify(args)}`);
  }
  const kv = typeof raw === 'string' ? keyValueArgs(raw, mod) : undefined;
  if (kv && 'problem' in kv) {
    r.add(keyAt, `${mod.name}: ${kv.problem}`);
    usable = false;
  } else if (kv) {
    Object.assign(params, kv.params);
    for (const k of Object.keys(kv.params)) paramPos[k] = keyAt;
  } else if (typeof raw === 'string' || typeof raw === 'number') {
    if (mod.freeForm) {
      params[mod.freeForm] = String(raw);
      paramPos[mod.freeForm] = keyAt;
    } else {
      r.add(keyAt, `${mod.name}: takes a dict of parameters, not a string (e.g. '${key}:' followed by indented 'name: value' lines)`);
      usable = false;
    }
  } else if (isDict(raw)) {
    Object.assign(params, raw);
    recordPositions(r, raw, '', paramPos);
  } else if (raw !== null && raw !== undefined) {
    r.add(keyAt, `${mod.name}: expected a dict of parameters, got ${JSON.stringify(raw)}`);
    usable = false;
  }

  const foundPos = (path: string[]): SourcePos | undefined => {
    for (let n = path.length; n > 0; n--) {
      const p = paramPos[path.slice(0, n).join('.')];
      if (p) return p;
    }
    return undefined;
  };
  const posOf = (path: string[]): SourcePos => foundPos(path) ?? keyAt;
  if (!usable) return { params, paramPos };
  const problems: SchemaProblem[] = [];
  const known = mod.freeKeys ? Object.fromEntries(Object.entries(params).filter(([k]) => k in mod.params)) : params;
  const coerced = validateParams(mod.params, known, problems, [], true);
  for (const p of problems) {
    const onKey = /^(unknown parameter|missing required)/.test(p.message);
    r.add(posOf(p.path), onKey ? `${mod.name}: ${p.message}` : `${mod.name}.${p.path.join('.')}: ${p.message}`);
  }
  if (problems.length === 0 && mod.validate && !hasTemplate(params)) {
    const found = mod.validate(mod.freeKeys ? { ...params, ...coerced } : coerced);
    for (const l of validationLines(mod.name, found, (f) => foundPos(f.split('.')), keyAt)) r.add(l.pos, l.text);
  }
  return { params, paramPos };
}
