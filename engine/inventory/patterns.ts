// Host patterns for `hosts:` and `--limit`, evaluated as Ansible's InventoryManager does:
// split on `,` (or `:`), plain terms first, then `&` intersections, then `!` exclusions;
// a term matches groups (all their hosts) and, for wildcards/regexes, host names too.
import { parseAddress } from './host-range.js';

export interface PatternSource {
  /** Group names in inventory order. */
  groupNames(): Iterable<string>;
  /** Host names in inventory order. */
  hostNames(): Iterable<string>;
  hasHost(name: string): boolean;
  /** Every host of a group and its descendants, in Ansible's order. */
  groupHosts(name: string): string[];
  /** The implicit localhost, when the inventory does not define it. */
  implicitHost(name: string): string | undefined;
}

const SUBSCRIPT = /^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$/;
const COLON_TERMS = /(?:[^\s:[\]]|\[[^\]]*\])+/g;

export function splitPattern(pattern: string): string[] {
  let parts: string[];
  if (pattern.includes(',')) parts = pattern.split(',');
  // A host[:port], an IPv6 address or a range like hv[01:20] is one term even though it contains ':'.
  else if (parseAddress(pattern)) parts = [pattern];
  else parts = pattern.match(COLON_TERMS) ?? [];
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

/** Python's fnmatch.translate, anchored at both ends. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; ) {
    const c = glob[i++];
    if (c === '*') {
      while (glob[i] === '*') i++;
      re += '.*';
    } else if (c === '?') re += '.';
    else if (c === '[') {
      let j = i;
      if (glob[j] === '!') j++;
      if (glob[j] === ']') j++;
      while (j < glob.length && glob[j] !== ']') j++;
      if (j >= glob.length) re += '\\[';
      else {
        let stuff = glob.slice(i, j).replace(/\\/g, '\\\\');
        i = j + 1;
        if (stuff[0] === '!') stuff = '^' + stuff.slice(1);
        else if (stuff[0] === '^') stuff = '\\' + stuff;
        re += `[${stuff.replace(/\[/g, '\\[')}]`;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return new RegExp(`^(?:${re})$`, 's');
}

/** A `~regex` term: Python's re.match, i.e. anchored at the start only. */
function pythonRegex(source: string): RegExp {
  const js = source.replace(/\(\?P</g, '(?<').replace(/\(\?P=(\w+)\)/g, '\\k<$1>');
  return new RegExp(`^(?:${js})`, 'u');
}

function matcher(term: string): RegExp {
  return term.startsWith('~') ? pythonRegex(term.slice(1)) : globToRegExp(term);
}

const SUBSCRIPT_HELP = 'a subscript is [N], [-N], [N:M] or [N:]';

function regexProblem(source: string): string | undefined {
  try {
    pythonRegex(source);
    return undefined;
  } catch (e) {
    return `invalid regular expression '${source}': ${(e as Error).message.replace(/^Invalid regular expression: \/.*\/\w*: /, '').replace(/^Invalid regular expression: /, '')}`;
  }
}

/** A '[' never closed or a ']' never opened in a term that is not a regex. */
function bracketProblem(text: string): string | undefined {
  const open = text.indexOf('[');
  const close = text.indexOf(']');
  if (close >= 0 && (open < 0 || close < open)) return `']' in '${text}' has no opening '['`;
  if (text.lastIndexOf('[') > text.lastIndexOf(']')) return `'[' in '${text}' is never closed with ']' (${SUBSCRIPT_HELP})`;
  return undefined;
}

/**
 * Splitting on ':' keeps only whole [..] groups and silently drops a lone '[' or ']', which turned
 * `hv[1:` into the terms hv and 1 and `~[` into `~` (every host): find such a character.
 */
function droppedBracket(p: string): string | undefined {
  if (p.includes(',') || parseAddress(p)) return undefined;
  const gaps: Array<[number, number]> = [];
  let at = 0;
  for (const m of p.matchAll(COLON_TERMS)) {
    gaps.push([at, m.index!]);
    at = m.index! + m[0].length;
  }
  gaps.push([at, p.length]);
  for (const [start, end] of gaps) {
    const bad = p.slice(start, end).search(/[^\s:]/);
    if (bad < 0) continue;
    // From the start of its term to the end, as the user wrote it (the ':' after it was not meant to split).
    const word = p.slice(p.slice(0, start + bad).search(/[^\s:]*$/)).trim().replace(/^[!&]/, '');
    return word.startsWith('~') ? (regexProblem(word.slice(1)) ?? bracketProblem(word)) : bracketProblem(word);
  }
  return undefined;
}

/** A trailing [..] that is empty or holds ':' means a subscript: one Ansible understands, selecting something. */
function subscriptProblem(term: string): string | undefined {
  const tail = /^.+(\[[^[\]]*\])$/.exec(term)?.[1];
  if (!tail) return undefined;
  const m = SUBSCRIPT.exec(term);
  if (!m) return tail === '[]' || tail.includes(':') ? `bad subscript '${tail}' in '${term}': ${SUBSCRIPT_HELP}` : undefined;
  if (m[5] && Number(m[5]) < Number(m[3])) return `subscript '${tail}' in '${term}' selects nothing: it ends before it starts`;
  return undefined;
}

/** A message for a pattern that cannot work, or undefined. */
export function validatePattern(p: string): string | undefined {
  if (typeof p !== 'string' || p.trim() === '') return 'empty host pattern';
  const dropped = droppedBracket(p);
  if (dropped) return `host pattern '${p}': ${dropped}`;
  for (const raw of splitPattern(p)) {
    const term = raw[0] === '&' || raw[0] === '!' ? raw.slice(1) : raw;
    if (term === '') return `host pattern '${p}': '${raw}' needs a name after it (e.g. '${raw}webservers')`;
    if (term === '~') return `host pattern '${p}': '~' needs a regular expression after it (e.g. '~hv0[1-3]')`;
    let problem: string | undefined;
    if (term.startsWith('~')) problem = regexProblem(term.slice(1));
    // A host range or address (hv[01:20], [::1]:22) is balanced by construction.
    else problem = (parseAddress(term) ? undefined : bracketProblem(term)) ?? subscriptProblem(term);
    if (problem) return `host pattern '${p}': ${problem}`;
  }
  return undefined;
}

function splitSubscript(term: string): { expr: string; slice?: [number, number | undefined] } {
  if (term.startsWith('~')) return { expr: term };
  const m = SUBSCRIPT.exec(term);
  if (!m) return { expr: term };
  if (m[2] !== undefined) return { expr: m[1], slice: [Number(m[2]), undefined] };
  return { expr: m[1], slice: [Number(m[3]), m[5] ? Number(m[5]) : -1] };
}

function applySubscript(hosts: string[], slice: [number, number | undefined] | undefined): string[] {
  if (!hosts.length || !slice) return hosts;
  const [start] = slice;
  let end = slice[1];
  if (end) {
    if (end === -1) end = hosts.length - 1;
    return hosts.slice(start, end + 1);
  }
  const i = start < 0 ? hosts.length + start : start;
  return i >= 0 && i < hosts.length ? [hosts[i]] : [];
}

function matchTerm(src: PatternSource, term: string): string[] {
  const { expr, slice } = splitSubscript(term);
  const re = matcher(expr);
  const results: string[] = [];
  let groupMatched = false;
  for (const g of src.groupNames()) {
    if (re.test(g)) {
      groupMatched = true;
      results.push(...src.groupHosts(g));
    }
  }
  if (!groupMatched || expr.startsWith('~') || /[.?*[]/.test(expr)) {
    for (const h of src.hostNames()) if (re.test(h)) results.push(h);
  }
  if (!results.length) {
    const implicit = src.implicitHost(expr);
    if (implicit) results.push(implicit);
  }
  return applySubscript(results, slice);
}

/** Host names selected by a pattern, without duplicates, in inventory order; [] when nothing matches. */
export function selectHosts(src: PatternSource, pattern: string): string[] {
  if (validatePattern(pattern)) return [];
  const terms = splitPattern(pattern);
  const plain = terms.filter((t) => t[0] !== '&' && t[0] !== '!');
  const ordered = [...(plain.length ? plain : ['all']), ...terms.filter((t) => t[0] === '&'), ...terms.filter((t) => t[0] === '!')];
  let hosts: string[] = [];
  const cache = new Map<string, string[]>();
  const match = (t: string): string[] => {
    let r = cache.get(t);
    if (!r) {
      r = matchTerm(src, t);
      cache.set(t, r);
    }
    return r;
  };
  for (const t of ordered) {
    if (src.hasHost(t)) hosts.push(t);
    else if (t[0] === '!') {
      const that = new Set(match(t.slice(1)));
      hosts = hosts.filter((h) => !that.has(h));
    } else if (t[0] === '&') {
      const that = new Set(match(t.slice(1)));
      hosts = hosts.filter((h) => that.has(h));
    } else {
      const existing = new Set(hosts);
      for (const h of match(t)) if (!existing.has(h)) hosts.push(h);
    }
  }
  return [...new Set(hosts)];
}

/**
 * The terms of a pattern that select nothing on their own (a misspelt host or group): Ansible
 * warns and drops them, which let `--limit hv1,hv9` run on hv1 alone and `--limit hv9` on
 * nothing with exit 0. Exclusions (`!x`) and intersections (`&x`) are left alone: naming a group
 * that happens to be empty there is a normal thing to write.
 */
export function unmatchedTerms(src: PatternSource, pattern: string): string[] {
  if (validatePattern(pattern)) return [];
  const groups = new Set(src.groupNames());
  return splitPattern(pattern).filter((t) => t[0] !== '&' && t[0] !== '!' && !groups.has(t) && !src.hasHost(t) && matchTerm(src, t).length === 0);
}
