// Pure parts of package: the read script's output (dpkg-query for what is installed, apt-cache
// policy for what apt would install) and the diff against the wanted state.
import type { Change, DiffResult } from '../../engine/module/contract.js';

export interface PackageInfo {
  /** Installed version; undefined when not installed. */
  installed?: string;
  /** Version apt would install; undefined when apt knows no such package. */
  candidate?: string;
}

/** A Debian package name (policy manual 5.6.1), optionally with an architecture. */
export const PACKAGE_NAME = /^[a-z0-9][a-z0-9+.-]+(:[a-z0-9]+)?$/;

const section = (out: string, name: string): string => {
  const m = new RegExp(`^--- ${name}\\n([\\s\\S]*?)^--- `, 'm').exec(out);
  if (!m) throw new Error(`no '--- ${name}' section`);
  return m[1];
};

const bare = (name: string) => name.replace(/:[a-z0-9]+$/, '');

/** The read script's output → per package name (as asked) its installed and candidate versions. */
export function parsePackages(out: string, names: string[]): Record<string, PackageInfo> {
  const installed = new Map<string, string>();
  for (const line of section(out, 'dpkg').split('\n')) {
    const [pkg, status, version] = line.split('\t');
    if (pkg && status === 'installed' && version) installed.set(bare(pkg), version);
  }
  const candidates = new Map<string, string>();
  let current: string | undefined;
  for (const line of section(out, 'policy').split('\n')) {
    const head = /^(\S+):$/.exec(line);
    if (head) current = bare(head[1]);
    const cand = /^\s+Candidate: (\S+)/.exec(line);
    if (cand && current && cand[1] !== '(none)') candidates.set(current, cand[1]);
  }
  const result: Record<string, PackageInfo> = {};
  for (const n of names) result[n] = { installed: installed.get(bare(n)), candidate: candidates.get(bare(n)) };
  return result;
}

export type PackageState = 'present' | 'absent' | 'latest';

/** What a change is about: one package, by the name apt knows it by. */
export interface PackageTarget {
  name: string;
}

/** What differs: one change per package, `package NAME: from → to` (versions, or absent). */
export function diffPackages(info: Record<string, PackageInfo>, state: PackageState): DiffResult<PackageTarget> {
  const changes: Change<PackageTarget>[] = [];
  const failures: string[] = [];
  for (const [name, i] of Object.entries(info)) {
    const path = `package ${name}`;
    const target = { name };
    if (state === 'absent') {
      if (i.installed) changes.push({ path, target, from: i.installed, to: undefined });
      continue;
    }
    if (!i.installed && !i.candidate) {
      failures.push(`no package '${name}' is known to apt on this host (misspelt, or the package lists need apt-get update: set update_cache)`);
      continue;
    }
    if (!i.installed) changes.push({ path, target, from: undefined, to: i.candidate });
    else if (state === 'latest' && i.candidate && i.candidate !== i.installed) changes.push({ path, target, from: i.installed, to: i.candidate });
  }
  return { changes, failures };
}
