// Loads one or more -i sources (YAML or INI files, inventory directories, `h1,h2,` host lists)
// into one Inventory, collecting every problem of every source before throwing.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { ValidationError, type Problem } from '../errors.js';
import { YamlDoc } from '../yaml.js';
import { InventoryData } from './data.js';
import { readYamlInventory } from './yaml-source.js';
import { readIniInventory } from './ini-source.js';
import { parseAddress } from './host-range.js';
import { VarsFiles } from './vars-files.js';
import { Inventory } from './inventory.js';

const YAML_EXTENSIONS = ['.yml', '.yaml', '.json'];
// Ansible skips these in an inventory directory (IGNORED_ALWAYS + REJECT_EXTS + INVENTORY_IGNORE_EXTS).
const IGNORED_NAME = /^\.|^host_vars$|^group_vars$|^vars_plugins$|(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$/;
const INI_SECTION_LINE = /^\s*\[[^\]\s]+\]\s*(?:[#;].*)?$/m;
const YAML_KEY_LINE = /^[^\s#;[][^\s=]*:(?:\s|$)/m;

function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

function readFile(inv: InventoryData, path: string): void {
  const shown = display(path);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    inv.problems.push({ pos: { file: shown }, message: `cannot read inventory: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    return;
  }
  inv.currentSource = path;
  const ext = extname(path);
  if (YAML_EXTENSIONS.includes(ext)) return readYaml(inv, shown, text);
  if (ext !== '') return readIniInventory(inv, shown, text);
  // No extension (`hosts`): Ansible tries YAML first and falls back to INI.
  if (INI_SECTION_LINE.test(text)) return readIniInventory(inv, shown, text);
  let doc: YamlDoc;
  try {
    doc = new YamlDoc(shown, text);
  } catch (e) {
    if (e instanceof ValidationError && YAML_KEY_LINE.test(text)) {
      inv.problems.push(...e.problems);
      return;
    }
    return readIniInventory(inv, shown, text);
  }
  if (doc.data !== null && typeof doc.data === 'object' && !Array.isArray(doc.data)) return readYamlInventory(inv, doc);
  return readIniInventory(inv, shown, text);
}

function readYaml(inv: InventoryData, shown: string, text: string): void {
  try {
    readYamlInventory(inv, new YamlDoc(shown, text));
  } catch (e) {
    if (e instanceof ValidationError) inv.problems.push(...e.problems);
    else throw e;
  }
}

function readSource(inv: InventoryData, path: string): void {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    inv.problems.push({ pos: { file: display(path) }, message: `cannot read inventory: ${(e as NodeJS.ErrnoException).code ?? String(e)}` });
    return;
  }
  if (!isDir) return readFile(inv, path);
  for (const name of readdirSync(path).sort()) if (!IGNORED_NAME.test(name)) readSource(inv, join(path, name));
}

function readHostList(inv: InventoryData, list: string): void {
  inv.currentSource = list;
  for (const item of list.split(',')) {
    const h = item.trim();
    if (!h) continue;
    const a = parseAddress(h);
    inv.addHost(a ? a.host : h, 'ungrouped', a?.port);
  }
}

/** Files in group_vars/ and host_vars/ that name no group or host: almost always a typo. */
function strayVarsFiles(base: string, inv: InventoryData): string[] {
  const out: string[] = [];
  for (const [kind, known] of [['group_vars', inv.groups], ['host_vars', inv.hosts]] as const) {
    const dir = join(base, kind);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.') || name.endsWith('~')) continue;
      const ext = extname(name);
      const stem = YAML_EXTENSIONS.includes(ext) ? name.slice(0, -ext.length) : name;
      if (!known.has(stem) && !(kind === 'host_vars' && ['localhost', '127.0.0.1', '::1'].includes(stem))) {
        out.push(`${display(join(dir, name))} matches no ${kind === 'group_vars' ? 'group' : 'host'} of the inventory`);
      }
    }
  }
  return out;
}

/** Loads and merges inventory sources; throws one ValidationError listing every problem. */
/**
 * `playbookDir`: Ansible also reads group_vars/ and host_vars/ beside the playbook, above those
 * beside the inventory in precedence.
 */
export function loadInventory(paths: string[], playbookDir?: string): Inventory {
  const inv = new InventoryData();
  const problems: Problem[] = [];
  const sources: string[] = [];
  const bases: string[] = [];
  for (const p of paths) {
    if (p.includes(',') && !existsSync(p)) {
      sources.push(p);
      readHostList(inv, p);
      continue;
    }
    const abs = resolve(p);
    if (!existsSync(abs)) {
      problems.push({ pos: { file: p }, message: 'inventory not found' });
      continue;
    }
    sources.push(abs);
    const base = statSync(abs).isDirectory() ? abs : dirname(abs);
    bases.push(base);
    readSource(inv, abs);
  }
  if (playbookDir && !bases.includes(playbookDir) && (existsSync(join(playbookDir, 'group_vars')) || existsSync(join(playbookDir, 'host_vars')))) bases.push(playbookDir);
  inv.currentSource = '';
  inv.reconcile();
  problems.push(...inv.problems);
  // Read every group_vars/host_vars file now, so a broken one fails the load, not a task later.
  const files = new VarsFiles(display);
  for (const base of bases) {
    for (const g of inv.groups.keys()) files.lookup(base, 'group_vars', g);
    for (const h of inv.hosts.keys()) files.lookup(base, 'host_vars', h);
  }
  problems.push(...files.problems);
  if (problems.length) throw new ValidationError(problems);
  const inventory = new Inventory(inv, sources, bases, files);
  for (const base of new Set(bases)) inventory.warnings.push(...strayVarsFiles(base, inv));
  return inventory;
}
