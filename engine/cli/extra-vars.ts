// -e values: `key=value ...` (strings, as in Ansible), `@file.yml`, or an inline YAML/JSON mapping.
import { PlayError } from '../errors.js';
import { YamlDoc, parseYaml } from '../yaml.js';

export function parseExtraVars(args: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const arg of args) {
    if (arg.startsWith('@')) {
      const data = YamlDoc.load(arg.slice(1)).data;
      if (data === null || data === undefined) continue;
      if (typeof data !== 'object' || Array.isArray(data)) throw new PlayError(`-e ${arg}: the file must hold a mapping of variables`);
      Object.assign(out, data);
    } else if (/^\s*[{[]/.test(arg)) {
      const data = parseYaml(arg, '-e');
      if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new PlayError(`-e ${arg}: expected a mapping`);
      Object.assign(out, data);
    } else {
      for (const pair of splitWords(arg)) {
        const eq = pair.indexOf('=');
        if (eq <= 0) throw new PlayError(`-e ${JSON.stringify(pair)}: expected key=value, @file.yml or a YAML mapping`);
        const key = pair.slice(0, eq);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) throw new PlayError(`-e: '${key}' is not a valid variable name`);
        out[key] = pair.slice(eq + 1);
      }
    }
  }
  return out;
}

/** Splits `a=1 b="x y"` on spaces outside quotes. */
function splitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
      else cur += ch;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (/\s/.test(ch)) {
      if (cur) words.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quote) throw new PlayError(`-e ${s}: unterminated quote`);
  if (cur) words.push(cur);
  return words;
}
