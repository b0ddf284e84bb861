// Loads a playbook file into the typed Playbook the runner executes, or throws ONE
// ValidationError carrying every problem found, each at its file:line:col.
import { dirname, resolve } from 'node:path';
import { PlayError, ValidationError, type Problem } from '../errors.js';
import { YamlDoc } from '../yaml.js';
import type { Play, Playbook } from './types.js';
import { isDict, Reader, type Dict } from './reader.js';
import { IMPORT_KEYS, docDir, importedPlaybook, whileReading, withLoadVars } from './includes.js';
import { readPlay } from './parse-play.js';
import { checkPlayVariables, runtimeNames, type HostVarSet } from './validate.js';

export interface LoadOptions {
  /**
   * Variable names defined for a play's hosts by the inventory (plus -e extra vars). Undefined
   * (or returning undefined) skips the undefined-variable check; syntax is checked regardless.
   */
  knownVariables?: (play: Play) => Set<string> | undefined;
  /**
   * The play's hosts grouped by the variable names the inventory (plus -e) defines for them, so a
   * name defined on only some hosts is reported with the hosts lacking it. Wins over knownVariables.
   */
  hostVariables?: (play: Play) => HostVarSet[] | undefined;
  /** -e extra vars: an include's file name may be a template of these. */
  extraVars?: Record<string, unknown>;
}

function hostSetsOf(play: Play, opts: LoadOptions): HostVarSet[] | undefined {
  if (opts.hostVariables) return opts.hostVariables(play);
  const names = opts.knownVariables?.(play);
  return names ? [{ names, hosts: [] }] : undefined;
}

/** Problems of one file in line order; files in the order they were first reported. */
function ordered(problems: Problem[]): Problem[] {
  const files = [...new Set(problems.map((p) => p.pos?.file ?? ''))];
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => {
      const fa = files.indexOf(a.p.pos?.file ?? '');
      const fb = files.indexOf(b.p.pos?.file ?? '');
      if (fa !== fb) return fa - fb;
      const la = a.p.pos?.line ?? 0;
      const lb = b.p.pos?.line ?? 0;
      if (la !== lb) return la - lb;
      return (a.p.pos?.col ?? 0) - (b.p.pos?.col ?? 0) || a.i - b.i;
    })
    .map((x) => x.p);
}

export function loadPlaybook(path: string, opts: LoadOptions = {}): Playbook {
  return withLoadVars(opts.extraVars ?? {}, () => loadPlaybookFile(path, opts));
}

function loadPlaybookFile(path: string, opts: LoadOptions): Playbook {
  const doc = YamlDoc.load(path);
  const problems: Problem[] = [];
  const r = new Reader(doc, problems);
  const dir = dirname(resolve(path));
  const plays: Play[] = [];
  const earlier = new Set<string>();
  const addPlay = (pr: Reader, item: Dict) => {
    const play = readPlay(pr, item, docDir(pr.doc));
    let sets: HostVarSet[] | undefined;
    try {
      sets = play.hosts ? hostSetsOf(play, opts) : undefined;
    } catch (e) {
      if (!(e instanceof PlayError)) throw e;
      const at = play.keyPos.hosts ?? play.pos;
      // validatePattern may already have said so.
      if (!problems.some((p) => p.pos?.line === at.line && p.pos?.file === at.file)) pr.add(at, `hosts: ${e.message}`);
    }
    checkPlayVariables(play, sets, problems, { earlier, dir });
    for (const n of runtimeNames(play)) earlier.add(n);
    plays.push(play);
  };
  // import_playbook: the imported file's plays in place (relative to the importing file; its problems name it).
  readPlays(r, addPlay);
  if (problems.length) throw new ValidationError(ordered(problems));
  return { file: path, dir, plays };
}

function readPlays(r: Reader, addPlay: (r: Reader, item: Dict) => void): void {
  const data = r.doc.data;
  if (data === null || data === undefined) {
    r.add({ file: r.doc.file }, 'the playbook is empty: it should be a list of plays (- hosts: …)');
  } else if (!Array.isArray(data)) {
    r.add(r.at(data), `a playbook is a list of plays (each starting with '- hosts: …'), got ${isDict(data) ? 'a dict' : JSON.stringify(data)}`);
  } else {
    data.forEach((item, i) => {
      if (!isDict(item)) {
        r.add(r.at(data, i), `play ${i + 1}: expected a dict with hosts and tasks, got ${JSON.stringify(item)}`);
        return;
      }
      const imported = importedPlaybook(r, item);
      if (imported) whileReading(imported.path, () => readPlays(imported.reader, addPlay));
      else if (!IMPORT_KEYS.some((k) => k in item)) addPlay(r, item);
    });
  }
}
