// Run history: the last N run records per playbook + inventory, for `play drift diff` and
// `play check --since-last`. Records are sanitized (no registered data) before they are kept.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { PlayError } from '../errors.js';
import type { RunRecord } from '../results.js';
import { writeFileAtomic } from './atomic-write.js';
import { sanitizedRecordJson } from './sanitize.js';

export const DEFAULT_KEEP = 20;

/** `${XDG_STATE_HOME:-~/.local/state}/play` */
export function defaultStateDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_STATE_HOME && env.XDG_STATE_HOME.startsWith('/') ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(base, 'play');
}

export interface HistoryKey {
  /** sha256 of the resolved playbook path and inventory paths (first 16 hex digits). */
  hash: string;
  /** Human part: playbook and inventory base names, e.g. `site--prod`. */
  slug: string;
  /** Directory name under `<stateDir>/runs/`: `<slug>-<hash>`. */
  name: string;
}

const slugPart = (p: string) =>
  basename(p, extname(p))
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[._-]+|[._-]+$/g, '')
    .slice(0, 40) || 'x';

export function historyKey(playbook: string, inventory: string[]): HistoryKey {
  const ids = [resolve(playbook), ...inventory.map((i) => resolve(i))];
  const hash = createHash('sha256').update(JSON.stringify(ids)).digest('hex').slice(0, 16);
  const slug = [slugPart(playbook), ...inventory.map(slugPart)].join('--').slice(0, 80);
  return { hash, slug, name: `${slug}-${hash}` };
}

export const historyDir = (stateDir: string, playbook: string, inventory: string[]) => join(stateDir, 'runs', historyKey(playbook, inventory).name);

const RUN_FILE = /^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?Z-[0-9a-f]{8}\.json$/;

/** Keeps the record (sanitized) and prunes the oldest beyond `keep`; returns the file written. */
export function saveRun(stateDir: string, record: RunRecord, keep = DEFAULT_KEEP): string {
  if (!Number.isInteger(keep) || keep < 1) throw new PlayError(`history: keep must be a whole number ≥ 1, got ${keep}`);
  const dir = historyDir(stateDir, record.playbook, record.inventory);
  const { hash, slug } = historyKey(record.playbook, record.inventory);
  // Which playbook and inventory the hash stands for, for a human browsing the directory.
  writeFileAtomic(join(dir, 'key.json'), JSON.stringify({ playbook: resolve(record.playbook), inventory: record.inventory.map((i) => resolve(i)), hash, slug }, null, 2) + '\n', 0o600);
  const stamp = record.startedAt.replace(/:/g, '-');
  const file = join(dir, `${stamp}-${randomBytes(4).toString('hex')}.json`);
  writeFileAtomic(file, (function* () { yield* sanitizedRecordJson(record); yield '\n'; })(), 0o600);
  const runs = runFiles(dir);
  for (const old of runs.slice(0, Math.max(0, runs.length - keep))) rmSync(join(dir, old), { force: true });
  return file;
}

/** Oldest first: the names sort by start time. */
function runFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => RUN_FILE.test(f))
    .sort();
}

/** The kept records of this playbook + inventory, newest first (`[0]` is the last run). */
export function loadRuns(stateDir: string, playbook: string, inventory: string[]): RunRecord[] {
  const dir = historyDir(stateDir, playbook, inventory);
  return runFiles(dir)
    .reverse()
    .map((f) => {
      const path = join(dir, f);
      let rec: RunRecord;
      try {
        rec = JSON.parse(readFileSync(path, 'utf8')) as RunRecord;
      } catch (e) {
        throw new PlayError(`history: cannot read ${path}: ${(e as Error).message}`);
      }
      if (rec?.tool !== 'play' || rec.schemaVersion !== 1 || typeof rec.hosts !== 'object') {
        throw new PlayError(`history: ${path} is not a play run record (schemaVersion 1)`);
      }
      return rec;
    });
}
