// Per-setting comparison for sysctl: `exact` (flags, modes) or `minimum` (buffer sizes: a bigger
// value already on the host is kept, never lowered). Pure functions, unit-tested.
import { normalizeValue } from './parse.js';

export type Compare = 'exact' | 'minimum';
export const COMPARES: readonly Compare[] = ['exact', 'minimum'];

export interface Setting {
  /** Normalised wanted value (multi-value keys space-separated). */
  value: string;
  compare: Compare;
}

const isDict = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A settings value as written: a scalar (exact), or `{ value, compare }`. */
export function settingOf(raw: unknown): Setting {
  if (isDict(raw)) return { value: normalizeValue(raw.value), compare: raw.compare === 'minimum' ? 'minimum' : 'exact' };
  return { value: normalizeValue(raw), compare: 'exact' };
}

const fields = (v: string): number[] | undefined => {
  const parts = v.split(' ');
  return parts.every((p) => /^-?\d+$/.test(p)) ? parts.map(Number) : undefined;
};

/** The schema check of one settings value: what is wrong with it, or undefined. */
export function settingProblem(raw: unknown): string | undefined {
  if (['string', 'number', 'boolean'].includes(typeof raw)) return undefined;
  if (!isDict(raw)) return `expected a string, number, boolean or { value, compare }, got ${JSON.stringify(raw)}`;
  const extra = Object.keys(raw).filter((k) => k !== 'value' && k !== 'compare');
  if (extra.length) return `unknown key '${extra[0]}': a setting is { value, compare }`;
  if (!['string', 'number', 'boolean'].includes(typeof raw.value)) return `value: expected a string, number or boolean, got ${JSON.stringify(raw.value)}`;
  if (raw.compare !== undefined && !COMPARES.includes(raw.compare as Compare)) return `compare: must be 'exact' or 'minimum', got ${JSON.stringify(raw.compare)}`;
  if (raw.compare === 'minimum' && typeof raw.value === 'string' && raw.value.includes('{{')) return undefined;
  if (raw.compare === 'minimum' && !fields(normalizeValue(raw.value))) return `compare: minimum needs whole numbers (e.g. '4096 87380 16777216'), got ${JSON.stringify(raw.value)}`;
  return undefined;
}

/** Whether `current` meets the setting: equal, or (minimum) every field at least the wanted one. */
export function satisfies(current: string, s: Setting): boolean {
  if (s.compare === 'exact') return current === s.value;
  const have = fields(current);
  const want = fields(s.value);
  return !!have && !!want && have.length === want.length && have.every((h, i) => h >= want[i]);
}

/**
 * The value to set: the wanted one, or (minimum) each field raised to the wanted one where it is
 * lower and kept where it is higher. A current value of another shape is replaced whole.
 */
export function target(current: string | null | undefined, s: Setting): string {
  if (s.compare === 'exact' || current === null || current === undefined) return s.value;
  const have = fields(current);
  const want = fields(s.value)!;
  if (!have || have.length !== want.length) return s.value;
  return want.map((w, i) => Math.max(w, have[i])).join(' ');
}

/** Change wording: how a minimum differs from a plain replacement. */
export function minimumNote(s: Setting, to: string): string | undefined {
  if (s.compare !== 'minimum') return undefined;
  return to === s.value ? `at least '${s.value}'` : `at least '${s.value}'; bigger values kept`;
}
