// `--every 15m`: the interval of a scheduled check, and how systemd and cron express it.
import { PlayError } from '../errors.js';

const UNITS: Record<string, number> = { s: 1, sec: 1, m: 60, min: 60, h: 3600, d: 86400 };

/** `15m` → 900 (seconds). At least a minute: a drift check is not a busy loop. */
export function parseEvery(every: string): number {
  const m = /^\s*(\d+)\s*(s|sec|m|min|h|d)\s*$/.exec(every);
  if (!m) throw new PlayError(`--every: '${every}' is not an interval (use a number and s, m, h or d: 15m, 1h, 1d)`);
  const seconds = Number(m[1]) * UNITS[m[2]];
  if (seconds < 60) throw new PlayError(`--every: '${every}' is shorter than a minute`);
  return seconds;
}

/** 900 → `15min`, 3600 → `1h`: an unambiguous systemd time span. */
export function systemdSpan(seconds: number): string {
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}min`;
  return `${seconds}s`;
}

/** OnCalendar= for intervals that divide an hour or a day evenly (wall-clock aligned), else undefined. */
export function onCalendar(seconds: number): string | undefined {
  if (seconds % 60 !== 0) return undefined;
  const min = seconds / 60;
  if (min < 60 && 60 % min === 0) return `*-*-* *:00/${min}:00`;
  if (min % 60 !== 0) return undefined;
  const h = min / 60;
  if (h < 24 && 24 % h === 0) return `*-*-* 00/${h}:00:00`;
  if (h === 24) return '*-*-* 00:00:00';
  return undefined;
}

/**
 * The five cron time fields, or undefined when cron cannot express the interval.
 * `spread` (0..1439, from the playbook's key) picks the minute/hour of hourly and daily checks
 * so that many schedules do not all start at :00.
 */
export function cronFields(seconds: number, spread: number): string | undefined {
  if (seconds % 60 !== 0) return undefined;
  const min = seconds / 60;
  if (min === 1) return '* * * * *';
  if (min < 60 && 60 % min === 0) return `*/${min} * * * *`;
  if (min % 60 !== 0) return undefined;
  const h = min / 60;
  const minute = spread % 60;
  if (h === 1) return `${minute} * * * *`;
  if (h < 24 && 24 % h === 0) return `${minute} */${h} * * *`;
  if (h === 24) return `${minute} ${Math.floor(spread / 60) % 24} * * *`;
  return undefined;
}
