// Keys and section names that would change an ini file's structure instead of naming one entry.
import { paramProblem, type ParamProblem } from '../../engine/module/contract.js';
import { controlCharProblem } from '../lib/files/line-checks.js';

/**
 * A key must read back as itself: no line break, no `=` (it would end the key), not starting
 * with `[` (a section header), `#` or `;` (a comment), no space at either end (the file's
 * reader trims it, so the key would never be found and be appended on every run).
 */
export function iniKeyProblem(field: string, key: string): ParamProblem | undefined {
  const shown = JSON.stringify(key);
  if (key === '') return paramProblem(field, `a key cannot be empty`);
  const lb = controlCharProblem(field, key);
  if (lb) return lb;
  if (key.includes('=')) return paramProblem(field, `key ${shown} cannot contain '=' (it would end the key there)`);
  if (/^[[#;]/.test(key)) return paramProblem(field, `key ${shown} cannot start with '${key[0]}' (it would read as a ${key[0] === '[' ? 'section header' : 'comment'})`);
  if (key.trim() !== key) return paramProblem(field, `key ${shown} cannot start or end with whitespace`);
  return undefined;
}

/** A section name goes between `[` and `]`: neither bracket, no line break, no outer whitespace. */
export function iniSectionProblem(field: string, section: string): ParamProblem | undefined {
  const shown = JSON.stringify(section);
  if (section === '') return paramProblem(field, `a section name cannot be empty (leave section unset for keys outside any section)`);
  const lb = controlCharProblem(field, section);
  if (lb) return lb;
  if (/[[\]]/.test(section)) return paramProblem(field, `section ${shown} cannot contain '[' or ']' (write the name without brackets)`);
  if (section.trim() !== section) return paramProblem(field, `section ${shown} cannot start or end with whitespace`);
  return undefined;
}
