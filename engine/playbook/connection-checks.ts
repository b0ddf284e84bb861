// Every selected host's connection variables (ansible_connection, ansible_port, become method…)
// read at validate time exactly as the connection pool reads them, so a typo is reported before
// the first host is touched instead of failing that host mid-run.
import { isAbsolute, relative } from 'node:path';
import { PlayError, type Problem } from '../errors.js';
import { connectionSpecFor } from '../connection/spec.js';
import { renderConnectionVars } from '../connection/templated-vars.js';
import { someHosts } from './validate.js';

/** The inventory file as the inventory loader shows it: relative when under the working directory. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/**
 * Every mistake of one host: connectionSpecFor stops at the first, so the variable it names is
 * dropped and the rest read again (a message naming no variable of the host ends the search).
 */
function hostProblems(host: string, raw: Record<string, unknown>): string[] {
  const out: string[] = [];
  let vars: Record<string, unknown>;
  try {
    vars = renderConnectionVars(host, raw);
  } catch (e) {
    if (!(e instanceof PlayError)) throw e;
    return [e.message.replace(`host ${host}: `, '')];
  }
  const left = { ...vars };
  for (;;) {
    try {
      connectionSpecFor(host, left);
      return out;
    } catch (e) {
      if (!(e instanceof PlayError)) throw e;
      const prefix = `host ${host}: `;
      const message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      out.push(message);
      const name = /^(\w+)/.exec(message)?.[1];
      if (!name || !(name in left)) return out;
      delete left[name];
    }
  }
}

/**
 * One problem per inventory file and mistake: a bad value in a group's vars is named once with
 * the hosts it affects, not once per host of a large fleet. `sourceOf` is the host's inventory file.
 */
export function connectionProblems(
  hosts: Iterable<string>,
  varsOf: (host: string) => Record<string, unknown>,
  sourceOf: (host: string) => string,
): Problem[] {
  const found = new Map<string, { file: string; message: string; hosts: string[] }>();
  for (const h of hosts) {
    for (const message of hostProblems(h, varsOf(h))) {
      const file = shown(sourceOf(h));
      const key = `${file}\0${message}`;
      const entry = found.get(key) ?? { file, message, hosts: [] };
      entry.hosts.push(h);
      found.set(key, entry);
    }
  }
  return [...found.values()].map(({ file, message, hosts }) => {
    const who = hosts.length === 1 ? `host ${hosts[0]}` : `${hosts.length} hosts (${someHosts(hosts)})`;
    return { pos: { file }, message: `${who}: ${message}` };
  });
}
