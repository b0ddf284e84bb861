// Runs a playbook against an inventory: validation first (nothing connects before every problem
// is known), then each play, then the run record that the recap and reports are made from.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createRequire } from 'node:module';
import type { Playbook, Play } from '../playbook/types.js';
import type { RunRecord, HostRecord } from '../results.js';
import { exitCodeFor, interruptExitCode, interruptName } from '../results.js';
import { PlayError, ValidationError, type Problem } from '../errors.js';
import { rootPath } from '../paths.js';
import { loadPlaybook } from '../playbook/load.js';
import { hostVarSets } from '../playbook/host-sets.js';
import { connectionProblems } from '../playbook/connection-checks.js';
import { staticValueProblems } from '../playbook/static-values.js';
import { emptyPatternProblem, renderHostsPattern } from '../playbook/targets.js';
import { ANSIBLE_FACT_VARIABLES } from '../facts/aliases.js';
import type { HostVarSet } from '../playbook/validate.js';
import { loadInventory, validatePattern, type Inventory } from '../inventory/index.js';
import { ConnectionPool } from '../connection/pool.js';
import { renderConnectionVars } from '../connection/templated-vars.js';
import { DEFAULT_KEEPALIVE } from '../connection/spec.js';
import { LimitRegistry } from './limits.js';
import { gatherFacts } from '../facts/gather.js';
import type { HostState } from './vars.js';
import type { RunObserver } from './events.js';
import { runPlay } from './play.js';
import type { RunBackups } from './task-host.js';

/** Variables whose values are secrets wherever they appear in output, reports and history. */
const SECRET_VARS = ['ansible_become_password', 'ansible_become_pass', 'ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password'];

export interface PlaybookRunOptions {
  playbook: string;
  inventories: string[];
  check: boolean;
  diff: boolean;
  limit?: string;
  tags: string[];
  skipTags: string[];
  forks: number;
  strategy?: 'linear' | 'free';
  extraVars: Record<string, unknown>;
  detailedExitcodes: boolean;
  command: 'run' | 'check';
  observer: RunObserver;
  /**
   * The run's interruption (one AbortController per run, made by the CLI): once aborted no task
   * starts, running commands are stopped on the hosts, and the run ends with what it has.
   */
  signal?: AbortSignal;
  /** How long running tasks get to finish (clean up) after the interruption; default 10 s. */
  interruptGraceMs?: number;
  /** Aborted: stop waiting for the grace period (a second Ctrl-C). */
  hurry?: AbortSignal;
  /** Seconds between SSH keepalives (--ssh-keepalive); inventory variables override it. */
  sshKeepaliveS?: number;
}

export const DEFAULT_INTERRUPT_GRACE_MS = 10_000;

const require = createRequire(import.meta.url);
export const TOOL_VERSION: string = (require('../../../package.json') as { version: string }).version;

/** `play run cluster-tune.yml` also finds playbooks/cluster-tune.yml. */
export function resolvePlaybook(path: string): string {
  if (existsSync(path)) return resolve(path);
  if (!isAbsolute(path)) {
    for (const candidate of [rootPath('playbooks', path), rootPath('playbooks', `${path}.yml`)]) if (existsSync(candidate)) return candidate;
  }
  throw new ValidationError([{ pos: { file: path }, message: `playbook not found (looked in the current directory and in ${rootPath('playbooks')})` }]);
}

/** No -i: the built-in lab's inventory, as the README's main job expects. */
export function resolveInventories(paths: string[]): string[] {
  if (paths.length > 0) return paths;
  const lab = rootPath('inventories', 'lab.yml');
  if (existsSync(lab)) return [lab];
  throw new PlayError(`no inventory given and the lab's ${lab} does not exist: pass -i INVENTORY, or run 'play lab up' first`);
}

export interface PreparedRun {
  playbook: Playbook;
  inventory: Inventory;
  inventoryPaths: string[];
  limitHosts?: Set<string>;
}

/** Loads and validates everything; throws one ValidationError with every problem. */
export function prepareRun(opts: Pick<PlaybookRunOptions, 'playbook' | 'inventories' | 'limit' | 'extraVars'>): PreparedRun {
  const inventoryPaths = resolveInventories(opts.inventories);
  const file = resolvePlaybook(opts.playbook);
  const inventory = loadInventory(inventoryPaths, dirname(file));
  const problems: Problem[] = [];
  let limitHosts: Set<string> | undefined;
  if (opts.limit) {
    const bad = validatePattern(opts.limit) ?? emptyPatternProblem(inventory, opts.limit, '--limit');
    if (bad) problems.push({ pos: { file: '--limit' }, message: bad });
    else limitHosts = new Set(inventory.select(opts.limit));
  }
  const extraNames = Object.keys(opts.extraVars);
  const rendered = new Map<Play, string>();
  const patternOf = (play: Play): string => {
    let p = rendered.get(play);
    if (p === undefined) rendered.set(play, (p = renderHostsPattern(play, inventory, opts.extraVars)));
    return p;
  };
  // A task runs on every selected host: a name must be defined on each (checked per set of names).
  const setsByPattern = new Map<string, HostVarSet[]>();
  const hostVariables = (play: Play): HostVarSet[] => {
    const pattern = patternOf(play);
    const cacheKey = `${pattern}\0${play.gatherFacts}\0${Object.keys(play.roleDefaults ?? {}).join(',')}`;
    let sets = setsByPattern.get(cacheKey);
    if (!sets) {
      const empty = emptyPatternProblem(inventory, pattern, 'pattern');
      if (empty) throw new PlayError(empty);
      const all = inventory.select(pattern);
      const limited = all.filter((h) => !limitHosts || limitHosts.has(h));
      // A play --limit leaves without hosts is still checked (against its hosts), and one that
      // selects none against -e alone: a misspelt name is reported either way.
      const hosts = limited.length ? limited : all;
      // Role defaults and Ansible's fact names (when facts are gathered) are defined on every host.
      const everywhere = [...extraNames, ...Object.keys(play.roleDefaults ?? {}), ...(play.gatherFacts ? ANSIBLE_FACT_VARIABLES : [])];
      sets = hosts.length ? hostVarSets(hosts, (h) => [...Object.keys(inventory.hostVars(h)), ...everywhere]) : [{ names: new Set(everywhere), hosts: [] }];
      setsByPattern.set(cacheKey, sets);
    }
    return sets;
  };
  let playbook: Playbook;
  try {
    playbook = loadPlaybook(file, { hostVariables, extraVars: opts.extraVars });
  } catch (e) {
    if (e instanceof ValidationError) problems.push(...e.problems);
    else throw e;
    throw new ValidationError(problems);
  }
  const hostVarsCache = new Map<string, Record<string, unknown>>();
  problems.push(
    ...staticValueProblems(playbook, opts.extraVars, {
      hosts: (play) => {
        const all = inventory.select(patternOf(play));
        const limited = all.filter((h) => !limitHosts || limitHosts.has(h));
        return limited.length ? limited : all;
      },
      vars: (h) => hostVarsCache.get(h) ?? hostVarsCache.set(h, inventory.hostVars(h)).get(h)!,
    }),
  );
  // From here on a play's hosts are its rendered pattern (`hosts: "{{ target }}"` with -e target=hv1).
  for (const play of playbook.plays) if (rendered.has(play)) play.hosts = rendered.get(play)!;
  const targets = playHosts(playbook, inventory, limitHosts);
  if (targets.size === 0 && opts.limit && limitHosts) {
    problems.push({ pos: { file: '--limit' }, message: `--limit '${opts.limit}' leaves no host to run on: it selects none of the plays' hosts (${playbook.plays.map((p) => `'${p.hosts}'`).join(', ')})` });
  }
  problems.push(...connectionProblems(targets, (h) => ({ ...inventory.hostVars(h), ...opts.extraVars }), (h) => {
    const file = inventory.hostVars(h).inventory_file;
    return typeof file === 'string' ? file : inventoryPaths.join(', ');
  }));
  if (problems.length) throw new ValidationError(problems);
  return { playbook, inventory, inventoryPaths, limitHosts };
}

/** Every host some play selects (after --limit): the hosts the run may connect to. */
function playHosts(playbook: Playbook, inventory: Inventory, limitHosts: Set<string> | undefined): Set<string> {
  const out = new Set<string>();
  for (const play of playbook.plays) for (const h of inventory.select(play.hosts)) if (!limitHosts || limitHosts.has(h)) out.add(h);
  return out;
}

export async function runPlaybook(opts: PlaybookRunOptions, prepared = prepareRun(opts)): Promise<RunRecord> {
  const { playbook, inventory, inventoryPaths, limitHosts } = prepared;
  const started = new Date();
  if (limitHosts && limitHosts.size === 0) opts.observer.warning?.(`--limit '${opts.limit}' matched no hosts`);
  const records: Record<string, HostRecord> = {};
  const hostStates = new Map<string, HostState>();
  const deadHosts = new Set<string>();
  const backups: RunBackups = new Map();
  const keepalive = opts.sshKeepaliveS === undefined ? undefined : { ...DEFAULT_KEEPALIVE, intervalS: opts.sshKeepaliveS };
  const pool = new ConnectionPool({ keepalive, signal: opts.signal });
  const limits = new LimitRegistry();
  const varsCache = new Map<string, Record<string, unknown>>();
  const inventoryVars = (h: string) => {
    let v = varsCache.get(h);
    if (!v) {
      v = inventory.hostVars(h);
      varsCache.set(h, v);
    }
    return v;
  };
  const connVars = (h: string) => renderConnectionVars(h, { ...inventoryVars(h), ...opts.extraVars });
  const allHostNames = [...inventory.hosts.keys()];
  // Every host's secrets, not only the current one's: {{hostvars.hv2.ansible_become_password}}
  // rendered on hv1 must be masked too. Numbers count (an INI inventory types 12345678).
  let secrets: string[] | undefined;
  const runSecrets = (): string[] => {
    if (!secrets) {
      const found = new Set<string>();
      const take = (v: Record<string, unknown>) => {
        for (const k of SECRET_VARS) if (v[k] !== undefined && v[k] !== null && typeof v[k] !== 'object') found.add(String(v[k]));
      };
      take(opts.extraVars);
      for (const h of allHostNames) {
        take(inventoryVars(h));
        // A templated password (`ansible_become_password: "{{ vault_pw }}"`) is masked as rendered too.
        try {
          take(connVars(h));
        } catch (e) {
          if (!(e instanceof PlayError)) throw e; // an unrenderable one is that host's connection error
        }
      }
      secrets = [...found];
    }
    return secrets;
  };
  const plays = (async () => {
    for (const play of playbook.plays) {
      if (opts.signal?.aborted) break;
      const { aborted } = await runPlay(play, {
        check: opts.check,
        forks: opts.forks,
        strategy: opts.strategy,
        limitHosts,
        tags: opts.tags,
        skipTags: opts.skipTags,
        extraVars: opts.extraVars,
        playbookDir: playbook.dir,
        selectHosts: (p) => inventory.select(p),
        inventoryVars,
        allHostNames,
        connect: (h) => pool.get(h, () => connVars(h)),
        reconnect: (h, o) => pool.reconnect(h, connVars(h), o),
        secretsOf: () => runSecrets(),
        gatherFacts: (host) => gatherFacts(host) as unknown as Promise<Record<string, unknown>>,
        hostStates,
        records,
        deadHosts,
        observer: opts.observer,
        limits,
        signal: opts.signal,
        backups,
      });
      if (aborted) break;
    }
  })();
  try {
    await untilDoneOrGraceOver(plays, opts);
  } finally {
    // After an interruption's grace this cuts every connection: what still runs is stopped.
    await pool.closeAll();
    await settledWithin(plays, 2000);
    await opts.observer.finish?.();
  }
  return runRecord(opts, playbook.file, inventoryPaths, allHostNames, records, started);
}

/** The record the recap, reports and history are made from. */
function runRecord(
  opts: PlaybookRunOptions, playbookFile: string, inventoryPaths: string[], allHostNames: string[], records: Record<string, HostRecord>, started: Date,
): RunRecord {
  const ended = new Date();
  const interruptedBy = opts.signal?.aborted ? interruptName(opts.signal) : undefined;
  // Recap and reports in inventory order, not in the order hosts happened to finish.
  const hosts: Record<string, HostRecord> = {};
  for (const h of allHostNames) if (records[h]) hosts[h] = records[h];
  return {
    schemaVersion: 1,
    tool: 'play',
    toolVersion: TOOL_VERSION,
    command: opts.command,
    playbook: playbookFile,
    inventory: inventoryPaths.map((p) => resolve(p)),
    check: opts.check,
    startedAt: started.toISOString(),
    endedAt: ended.toISOString(),
    durationMs: ended.getTime() - started.getTime(),
    hosts,
    ...(interruptedBy ? { interrupted: interruptedBy } : {}),
    exitCode: interruptedBy ? interruptExitCode(interruptedBy) : exitCodeFor(hosts, opts.detailedExitcodes),
  };
}

/** Resolves when the run is done, or once an interruption's grace period is over. */
export async function untilDoneOrGraceOver(work: Promise<void>, opts: Pick<PlaybookRunOptions, 'signal' | 'interruptGraceMs' | 'hurry'>): Promise<void> {
  const signal = opts.signal;
  if (!signal) return work;
  let timer: NodeJS.Timeout | undefined;
  let onAbort = () => {};
  const graceOver = new Promise<void>((resolve) => {
    const hurry = () => resolve();
    onAbort = () => {
      timer = setTimeout(resolve, opts.interruptGraceMs ?? DEFAULT_INTERRUPT_GRACE_MS);
      opts.hurry?.addEventListener('abort', hurry, { once: true });
      if (opts.hurry?.aborted) resolve();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([work, graceOver]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
  }
}

/** Waits for `p` at most `ms` (its failure is the caller's concern elsewhere). */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}


