// The simulator's profile: canned replies for the commands a check sends, and the pure function
// that answers one command. Captured from a real namespace host by bench/capture-profile.ts.
import { readFileSync } from 'node:fs';
import { splitWords } from './words.js';
import { untie } from '../../engine/connection/tie.js';
import { unbatch } from '../../engine/connection/sections.js';

export interface CannedReply {
  stdout: string;
  stderr: string;
  code: number;
}

export interface Rule {
  /** Regex over the command (after the engine's locale prefix); `$1`… in the reply are captures. */
  match: string;
  reply: CannedReply;
  /** Extra latency for this command, on top of the simulator's per-exec latency. */
  latencyMs?: number;
}

export interface Profile {
  name: string;
  description?: string;
  /** key → value exactly as `sysctl -n KEY` prints it (without the newline). */
  sysctl: Record<string, string>;
  /** Real reply for a missing key; `net.nonexistent.key` in it is replaced by the asked key. */
  sysctlMissing: CannedReply;
  /** Real reply of `cat` on a missing file; `/nonexistent/file` is replaced by the path. */
  catMissing: CannedReply;
  /** path → content, answered to `cat PATH`, `cat -- PATH` and the engine's readFile script. */
  files: Record<string, string>;
  /** Exact command → reply. */
  exact: Record<string, CannedReply>;
  rules: Rule[];
}

export interface Reply extends CannedReply {
  /** False when nothing in the profile knew the command (exit 127). */
  known: boolean;
  latencyMs?: number;
}

export interface CompiledProfile {
  profile: Profile;
  rules: Array<{ re: RegExp; rule: Rule }>;
}

/** The engine prefixes every parsed command with this (engine/connection/base-host.ts). */
const LOCALE_PREFIX = /^LC_ALL=C; export LC_ALL; /;
/** The engine's readFile script: exit 3 means missing. */
const READ_FILE = /^if \[ -e ('(?:[^']|'\\'')*'|[^\s';]+) \]; then exec cat -- \1; else exit 3; fi$/;
/** The engine's writeFile script (base-host.ts): the content arrives on stdin. */
const WRITE_FILE = /^set -e\np=('(?:[^']|'\\'')*'|\S+)\n/;

export function loadProfile(path: string): CompiledProfile {
  return compileProfile(JSON.parse(readFileSync(path, 'utf8')) as Profile);
}

export function compileProfile(profile: Profile): CompiledProfile {
  return { profile, rules: profile.rules.map((rule) => ({ re: new RegExp(rule.match, 's'), rule })) };
}

/** Strips the engine's `LC_ALL=C; export LC_ALL; ` so profiles match the command itself. */
export function unwrapCommand(command: string): string {
  return untie(command).replace(LOCALE_PREFIX, '');
}

/** Path written by an engine writeFile script, or undefined if the command is not one. */
export function writeTarget(command: string): string | undefined {
  const m = WRITE_FILE.exec(unwrapCommand(command));
  return m ? splitWords(m[1])?.[0] : undefined;
}

/**
 * The file probes (modules/lib/files/meta.ts) send a file's content base64-encoded after the four
 * lines of its path; profiles captured before that hold the `cat` form, answered and re-encoded.
 */
const BASE64_TAIL = '\nif [ -f "$p" ]; then base64 -- "$p" || exit 6; fi';
const CAT_TAIL = '\nif [ -f "$p" ]; then cat -- "$p" || exit 6; fi';

function base64Reply(r: Reply): Reply {
  if (!r.known || r.code !== 0) return r;
  const lines = r.stdout.split('\n');
  const content = lines.slice(4).join('\n');
  const encoded = content === '' ? '' : `${Buffer.from(content, 'utf8').toString('base64')}\n`;
  return { ...r, stdout: `${lines.slice(0, 4).join('\n')}\n${encoded}` };
}

const ok = (stdout: string): Reply => ({ stdout, stderr: '', code: 0, known: true });

function sysctlReply(p: Profile, args: string[]): Reply | undefined {
  let names = true;
  const keys: string[] = [];
  for (const a of args) {
    if (a === '-n') names = false;
    else if (a === '-e' || a === '-q') continue;
    else if (a.startsWith('-')) return undefined; // -w, -p, -a: not a plain read
    else keys.push(a.replace(/\//g, '.'));
  }
  if (keys.length === 0) return undefined;
  let stdout = '';
  let stderr = '';
  let code = 0;
  for (const k of keys) {
    const v = p.sysctl[k];
    if (v === undefined) {
      stderr += p.sysctlMissing.stderr.replace('net/nonexistent/key', k.replace(/\./g, '/'));
      code = p.sysctlMissing.code;
    } else stdout += names ? `${k} = ${v}\n` : `${v}\n`;
  }
  return { stdout, stderr, code, known: true };
}

function catReply(p: Profile, paths: string[], files: ReadonlyMap<string, string> | undefined): Reply {
  let stdout = '';
  let stderr = '';
  let code = 0;
  for (const path of paths) {
    const c = fileContent(p, path, files);
    if (c === undefined) {
      stderr += p.catMissing.stderr.replace('/nonexistent/file', path);
      code = p.catMissing.code;
    } else stdout += c;
  }
  return { stdout, stderr, code, known: true };
}

function fileContent(p: Profile, path: string, files: ReadonlyMap<string, string> | undefined): string | undefined {
  const own = files?.get(path);
  if (own !== undefined) return own;
  if (Object.prototype.hasOwnProperty.call(p.files, path)) return p.files[path];
  if (path.startsWith('/proc/sys/')) {
    const v = p.sysctl[path.slice('/proc/sys/'.length).replace(/\//g, '.')];
    return v === undefined ? undefined : `${v}\n`;
  }
  return undefined;
}

/**
 * Answers one command as a host of this profile would. `files` holds what this virtual host
 * wrote (stateful mode), consulted before the profile's files.
 */
export function answer(cp: CompiledProfile, rawCommand: string, files?: ReadonlyMap<string, string>): Reply {
  const p = cp.profile;
  const command = unwrapCommand(rawCommand);
  const batch = unbatch(command);
  if (batch) {
    // The engine's batched reads: each probe answered on its own, framed as the shell would.
    const replies = batch.scripts.map((s) => answer(cp, s, files));
    const stdout = replies.map((r, i) => batch.frame(i, r.stdout + r.stderr, r.code)).join('');
    return { stdout, stderr: '', code: 0, known: replies.every((r) => r.known), latencyMs: Math.max(0, ...replies.map((r) => r.latencyMs ?? 0)) || undefined };
  }
  if (command.endsWith(BASE64_TAIL)) return base64Reply(answer(cp, command.slice(0, -BASE64_TAIL.length) + CAT_TAIL, files));
  const exact = Object.prototype.hasOwnProperty.call(p.exact, command) ? p.exact[command] : undefined;
  if (exact) return { ...exact, known: true };

  const rf = READ_FILE.exec(command);
  if (rf) {
    const path = splitWords(rf[1])?.[0] ?? '';
    const c = fileContent(p, path, files);
    return c === undefined ? { stdout: '', stderr: '', code: 3, known: true } : ok(c);
  }
  if (WRITE_FILE.test(command)) return ok('');

  const words = splitWords(command);
  if (words && words.length > 0) {
    if (words[0] === 'sysctl') {
      const r = sysctlReply(p, words.slice(1));
      if (r) return r;
    }
    if (words[0] === 'cat' && words.length > 1) {
      const paths = words.slice(1).filter((w) => w !== '--');
      if (paths.every((w) => !w.startsWith('-'))) return catReply(p, paths, files);
    }
  }

  for (const { re, rule } of cp.rules) {
    const m = re.exec(command);
    if (!m) continue;
    const sub = (s: string) => s.replace(/\$(\d)/g, (_, i: string) => m[Number(i)] ?? '');
    return { stdout: sub(rule.reply.stdout), stderr: sub(rule.reply.stderr), code: rule.reply.code, known: true, latencyMs: rule.latencyMs };
  }
  const first = words?.[0] ?? command.split(/\s/)[0];
  return { stdout: '', stderr: `fleet-sim: ${first}: no profile entry for this command\n`, code: 127, known: false };
}
