// group_vars/ and host_vars/ beside each inventory source, found the way Ansible's host_group_vars
// plugin finds them: NAME, NAME.yml, NAME.yaml, NAME.json (first that exists), a directory being
// read recursively in sorted order. Directory listings and parsed files are cached: a 10,000-host
// inventory must not cost 40,000 stat calls.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { YamlDoc } from '../yaml.js';
import { ValidationError, type Problem } from '../errors.js';

const EXTENSIONS = ['', '.yml', '.yaml', '.json'];

const extOf = (name: string): string => {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot) : '';
};

export class VarsFiles {
  private readonly listings = new Map<string, Map<string, boolean> | null>();
  private readonly files = new Map<string, Record<string, unknown>>();
  private readonly found = new Map<string, Array<Record<string, unknown>>>();
  readonly problems: Problem[] = [];

  constructor(private readonly display: (path: string) => string = (p) => relative(process.cwd(), p) || p) {}

  /** name → is-directory for the entries of `dir`, or null when it does not exist. */
  private listing(dir: string): Map<string, boolean> | null {
    let l = this.listings.get(dir);
    if (l !== undefined) return l;
    try {
      l = new Map();
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        l.set(e.name, e.isDirectory() || (e.isSymbolicLink() && isDir(join(dir, e.name))));
      }
    } catch {
      l = null;
    }
    this.listings.set(dir, l);
    return l;
  }

  private load(path: string): Record<string, unknown> {
    let data = this.files.get(path);
    if (data) return data;
    data = {};
    try {
      const doc = YamlDoc.load(path, this.display(path));
      if (doc.data !== null && doc.data !== undefined) {
        if (typeof doc.data !== 'object' || Array.isArray(doc.data)) {
          this.problems.push({ pos: doc.pos(doc.data), message: `a variables file must be a mapping of names to values, got ${Array.isArray(doc.data) ? 'a list' : typeof doc.data}` });
        } else data = doc.data as Record<string, unknown>;
      }
    } catch (e) {
      if (e instanceof ValidationError) this.problems.push(...e.problems);
      else throw e;
    }
    this.files.set(path, data);
    return data;
  }

  private dirFiles(dir: string): string[] {
    const out: string[] = [];
    const l = this.listing(dir);
    if (!l) return out;
    for (const name of [...l.keys()].sort()) {
      if (name.startsWith('.') || name.endsWith('~')) continue; // hidden files and editor backups
      const ext = extOf(name);
      const full = join(dir, name);
      if (l.get(name) && !ext) out.push(...this.dirFiles(full));
      else if (!l.get(name) && EXTENSIONS.includes(ext)) out.push(full);
    }
    return out;
  }

  /** The variables of `name` from `<base>/<kind>/`, in the order Ansible merges them (later wins). */
  lookup(base: string, kind: 'group_vars' | 'host_vars', name: string): Array<Record<string, unknown>> {
    if (name.startsWith('/')) return [];
    const dir = join(base, kind);
    const key = `${dir}\0${name}`;
    let result = this.found.get(key);
    if (result) return result;
    result = [];
    const l = this.listing(dir);
    if (l) {
      for (const ext of EXTENSIONS) {
        const entry = name + ext;
        const isDirectory = l.get(entry);
        if (isDirectory === undefined) continue;
        const paths = isDirectory ? this.dirFiles(join(dir, entry)) : [join(dir, entry)];
        for (const p of paths) {
          const data = this.load(p);
          if (Object.keys(data).length) result.push(data);
        }
        break;
      }
    }
    this.found.set(key, result);
    return result;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}
