// ~/.ssh/config: a pure parser for Host blocks and the lookup OpenSSH does (first value wins,
// patterns with * ? and !negation). Match blocks and Include are not followed.
import { wildcardMatch } from './known-hosts.js';

export interface SshConfigBlock {
  /** Host patterns; [] for the lines before the first Host (they apply to every host). */
  patterns: string[];
  /** Lower-cased keyword → values, in file order (IdentityFile may repeat). */
  options: Array<{ key: string; value: string; line: number }>;
  /** A Match block: skipped by lookups (unsupported), kept so nothing below it leaks into a Host. */
  match?: boolean;
}

/** Splits an OpenSSH config line's arguments: whitespace-separated, double quotes group. */
function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2]);
  return out;
}

export function parseSshConfig(text: string): SshConfigBlock[] {
  const blocks: SshConfigBlock[] = [{ patterns: [], options: [] }];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    // "Keyword value", "Keyword=value" and "Keyword = value" are all valid.
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
    if (!m) return;
    const key = m[1].toLowerCase();
    const args = splitArgs(m[2]);
    if (key === 'host') blocks.push({ patterns: args, options: [] });
    else if (key === 'match') blocks.push({ patterns: [], options: [], match: true });
    else blocks[blocks.length - 1].options.push({ key, value: args.join(' '), line: idx + 1 });
  });
  return blocks;
}

export function hostMatches(patterns: string[], host: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), host)) return false;
    } else if (wildcardMatch(p, host)) matched = true;
  }
  return matched;
}

export interface SshConfigValues {
  hostname?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  strictHostKeyChecking?: string;
  connectTimeout?: number;
}

/**
 * What the config says for `host` (the name as typed, e.g. an inventory ansible_host):
 * the first obtained value of each keyword wins, IdentityFile accumulates.
 */
export function lookupSshConfig(blocks: SshConfigBlock[], host: string): SshConfigValues {
  const first = new Map<string, string>();
  const identityFiles: string[] = [];
  for (const b of blocks) {
    if (b.match) continue;
    if (b.patterns.length && !hostMatches(b.patterns, host)) continue;
    for (const o of b.options) {
      if (o.key === 'identityfile') identityFiles.push(o.value);
      else if (!first.has(o.key)) first.set(o.key, o.value);
    }
  }
  const num = (k: string) => {
    const v = first.get(k);
    return v !== undefined && /^[0-9]+$/.test(v) ? Number(v) : undefined;
  };
  return {
    hostname: first.get('hostname'),
    user: first.get('user'),
    port: num('port'),
    identityFiles,
    proxyJump: first.get('proxyjump'),
    userKnownHostsFiles: first.get('userknownhostsfile')?.split(/\s+/).filter(Boolean),
    strictHostKeyChecking: first.get('stricthostkeychecking')?.toLowerCase(),
    connectTimeout: num('connecttimeout'),
  };
}

/** Expands ~ and the tokens OpenSSH allows in paths: %h host, %p port, %r user, %d home, %%. */
export function expandPath(p: string, ctx: { host: string; port: number; user: string; home: string }): string {
  let s = p.startsWith('~/') ? ctx.home + p.slice(1) : p === '~' ? ctx.home : p;
  s = s.replace(/%([hprd%])/g, (_, t: string) => (t === 'h' ? ctx.host : t === 'p' ? String(ctx.port) : t === 'r' ? ctx.user : t === 'd' ? ctx.home : '%'));
  return s;
}
