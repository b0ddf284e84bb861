// `play schedule`: a systemd service + timer (and the equivalent cron line) that run
// `play check` periodically, never two at once for the same playbook + inventory.
import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { PlayError } from '../errors.js';
import { rootPath } from '../paths.js';
import { renderFile } from '../lang/template.js';
import { writeFileAtomic } from './atomic-write.js';
import { cronFields, onCalendar, parseEvery, systemdSpan } from './every.js';
import { historyKey } from './history.js';
import { assertPrintable, cronCommand, systemdJoin, systemdPath } from './unit-quote.js';
import type { ReportSpec } from './write.js';

export interface ScheduleOptions {
  playbook: string;
  inventory: string[];
  /** `15m`, `1h`, `1d`, ... */
  every: string;
  reports: ReportSpec[];
  stateDir: string;
  /** Run the check as this user (systemd User=, the cron.d user field); default root. */
  user?: string;
  /** Relative paths (playbook, inventory, reports, state dir) are taken from here. */
  workingDir: string;
  /** How to start play: an absolute executable, or argv such as ['/usr/bin/node', '/opt/play/dist/engine/cli.js']. */
  playCommand: string | string[];
  /** Default /usr/bin/flock (util-linux). */
  flockPath?: string;
  /** Passed through to `play check` as given: --limit, --tags, --skip-tags, -e. */
  limit?: string;
  tags?: string[];
  skipTags?: string[];
  extraVars?: string[];
  /** TimeoutStartSec of the service (`30m`, …); default: the interval, so a stuck check ends before the next one is due. */
  timeout?: string;
}

export interface Schedule {
  /** `play-check-<slug>-<hash>`: the unit base name, also used for the lock. */
  name: string;
  serviceName: string;
  timerName: string;
  service: string;
  timer: string;
  /** A /etc/cron.d line (with its comment), or only a comment when cron cannot express the interval. */
  cron: string;
  lockPath: string;
  /** The check's argv, before quoting (flock first). */
  argv: string[];
}

/** Exit code of `flock -n` when the previous check still runs (EX_TEMPFAIL; SuccessExitStatus in the unit). */
export const LOCK_BUSY_EXIT = 75;

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}\$?$/i;

function template(name: string, data: Record<string, unknown>): string {
  const file = rootPath('templates', name);
  return renderFile(readFileSync(file, 'utf8'), data, { file });
}

/** --limit/--tags/--skip-tags/-e of the scheduled check; an `-e @file` path is made absolute. */
function checkFilters(opts: ScheduleOptions, abs: (p: string) => string): string[] {
  const out: string[] = [];
  if (opts.limit) out.push('--limit', opts.limit);
  if (opts.tags?.length) out.push('--tags', opts.tags.join(','));
  if (opts.skipTags?.length) out.push('--skip-tags', opts.skipTags.join(','));
  for (const e of opts.extraVars ?? []) out.push('-e', e.startsWith('@') ? `@${abs(e.slice(1))}` : e);
  return out;
}

export function renderSchedule(opts: ScheduleOptions): Schedule {
  const seconds = parseEvery(opts.every);
  if (!isAbsolute(opts.workingDir)) throw new PlayError(`schedule: the working directory must be absolute, got '${opts.workingDir}'`);
  const play = typeof opts.playCommand === 'string' ? [opts.playCommand] : [...opts.playCommand];
  if (play.length === 0 || !isAbsolute(play[0])) throw new PlayError(`schedule: the play command must start with an absolute path, got '${play[0] ?? ''}'`);
  if (opts.user !== undefined && !USER_NAME.test(opts.user)) throw new PlayError(`schedule: '${opts.user}' is not a valid user name`);
  if (opts.inventory.length === 0) throw new PlayError('schedule: at least one inventory (-i) is needed');
  const abs = (p: string) => resolve(opts.workingDir, p);
  const playbook = abs(opts.playbook);
  const inventory = opts.inventory.map(abs);
  const key = historyKey(playbook, inventory);
  const name = `play-check-${key.name}`;
  const lockPath = `/run/lock/${name}.lock`;
  const flock = opts.flockPath ?? '/usr/bin/flock';
  const argv = [
    flock, '-n', '-E', String(LOCK_BUSY_EXIT), lockPath,
    ...play, 'check', playbook,
    ...inventory.flatMap((i) => ['-i', i]),
    ...opts.reports.flatMap((r) => ['--report', `${r.format}=${abs(r.path)}`]),
    '--state-dir', abs(opts.stateDir),
    ...checkFilters(opts, abs),
  ];
  for (const v of [opts.workingDir, ...argv]) assertPrintable('schedule', v);
  const description = `${playbook} on ${inventory.join(', ')}`.replace(/%/g, '%%');
  const every = systemdSpan(seconds);
  const data = {
    playbook,
    description,
    user: opts.user,
    workingDir: systemdPath(opts.workingDir),
    execStart: systemdJoin(argv),
    serviceName: `${name}.service`,
    every,
    timeout: systemdSpan(opts.timeout === undefined ? seconds : parseEvery(opts.timeout)),
    onCalendar: onCalendar(seconds),
    // Spread the start a little (a tenth of the interval, at most 5 minutes).
    randomizedDelay: systemdSpan(Math.max(1, Math.min(300, Math.floor(seconds / 10)))),
  };
  const fields = cronFields(seconds, parseInt(key.hash.slice(0, 8), 16) % 1440);
  const comment = `# play drift check every ${every}: ${playbook}`;
  const cron = fields
    ? `${comment}\n${fields} ${opts.user ?? 'root'} cd ${cronCommand([opts.workingDir])} && ${cronCommand(argv)}\n`
    : `${comment}\n# cron cannot express every ${every}; use the systemd timer, or an interval that divides an hour or a day.\n`;
  return {
    name,
    serviceName: `${name}.service`,
    timerName: `${name}.timer`,
    service: template('play-check.service.hbs', data),
    timer: template('play-check.timer.hbs', data),
    cron,
    lockPath,
    argv,
  };
}

export interface InstalledSchedule {
  servicePath: string;
  timerPath: string;
  /** What the operator runs next. */
  enable: string;
}

/** Writes the two units (atomically) into `dir`; refuses a dir that does not exist. */
export function installSchedule(schedule: Schedule, dir = '/etc/systemd/system'): InstalledSchedule {
  if (!existsSync(dir)) throw new PlayError(`schedule: ${dir} does not exist (is this a systemd machine?)`);
  const servicePath = join(dir, schedule.serviceName);
  const timerPath = join(dir, schedule.timerName);
  writeFileAtomic(servicePath, schedule.service, 0o644);
  writeFileAtomic(timerPath, schedule.timer, 0o644);
  return { servicePath, timerPath, enable: `systemctl daemon-reload && systemctl enable --now ${schedule.timerName}` };
}
