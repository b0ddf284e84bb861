// How to reach a host, from its inventory variables (Ansible names) and ~/.ssh/config.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { shJoin } from './quote.js';
import { userNameProblem } from '../module/name-rules.js';
import type { BecomeSettings } from './base-host.js';
import type { HostKeyChecking } from './known-hosts.js';
import { expandPath, lookupSshConfig, parseSshConfig, type SshConfigBlock, type SshConfigValues } from './ssh-config.js';

export interface SshEndpoint {
  /** The name to look up in ~/.ssh/config and known_hosts (as typed: ansible_host or jump host). */
  host: string;
  port: number;
  user: string;
  /** Private key files, tried in order before the agent. */
  keyFiles: string[];
}

export interface ConnectionSpec {
  /** Inventory name. */
  hostName: string;
  kind: 'ssh' | 'local';
  target: SshEndpoint;
  /** Hops to go through first, outermost first (ProxyJump). */
  jumps: SshEndpoint[];
  /** SSH password (ansible_password); a secret. */
  password?: string;
  /** ssh-agent socket (SSH_AUTH_SOCK) if there is one. */
  agent?: string;
  /** known_hosts files read; new keys are appended to the first. */
  knownHostsFiles: string[];
  hostKeyChecking: HostKeyChecking;
  connectTimeoutMs: number;
  /** Dead-peer detection set for this host (unset: the run's default, see keepaliveFor). */
  keepalive: Partial<Keepalive>;
  become: BecomeSettings;
}

/** A host that answers no keepalive for intervalS × countMax seconds is unreachable. */
export interface Keepalive {
  /** Seconds between keepalives on a silent connection; 0 turns them off. */
  intervalS: number;
  countMax: number;
}

export const DEFAULT_KEEPALIVE: Keepalive = { intervalS: 5, countMax: 3 };

function toCount(v: unknown, host: string, name: string, min: number): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s) || Number(s) < min) throw bad(host, `${name} must be a whole number${min ? ` of at least ${min}` : ''}, got '${s}'`);
  return Number(s);
}

/** play_ssh_keepalive_* first, then ServerAliveInterval/ServerAliveCountMax in the ssh arguments. */
function keepaliveFrom(vars: Record<string, unknown>, args: Map<string, string>, host: string): Partial<Keepalive> {
  const intervalS =
    toCount(vars.play_ssh_keepalive_interval, host, 'play_ssh_keepalive_interval', 0) ?? toCount(args.get('serveraliveinterval'), host, 'ServerAliveInterval', 0);
  const countMax =
    toCount(vars.play_ssh_keepalive_count_max, host, 'play_ssh_keepalive_count_max', 1) ?? toCount(args.get('serveralivecountmax'), host, 'ServerAliveCountMax', 1);
  return { ...(intervalS !== undefined ? { intervalS } : {}), ...(countMax !== undefined ? { countMax } : {}) };
}

export interface SpecEnv {
  home?: string;
  /** Parsed ~/.ssh/config; read from home when not given. */
  sshConfig?: SshConfigBlock[];
  /** SSH_AUTH_SOCK; process.env when not given. */
  agent?: string;
  /** ANSIBLE_HOST_KEY_CHECKING; process.env when not given. */
  hostKeyCheckingEnv?: string;
}

const bad = (host: string, msg: string) => new PlayError(`host ${host}: ${msg}`);

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/** Ansible's loose booleans: yes/no/true/false/on/off/1/0. */
export function toBool(v: unknown, host: string, name: string): boolean | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['yes', 'true', 'on', '1', 'y'].includes(s)) return true;
  if (['no', 'false', 'off', '0', 'n'].includes(s)) return false;
  throw bad(host, `${name} must be a boolean, got '${String(v)}'`);
}

function toPort(v: unknown, host: string, name: string): number | undefined {
  const s = str(v);
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s) || Number(s) < 1 || Number(s) > 65535) throw bad(host, `${name} must be a port number 1-65535, got '${s}'`);
  return Number(s);
}

/**
 * ansible_become_flags split into words like a shell would and quoted word by word: Ansible's sudo
 * plugin pastes the string into the remote command, where `-H; reboot` would run reboot.
 * Every word must be a plain option or an option's argument (the first starts with '-').
 */
function becomeFlags(v: unknown, host: string): string | undefined {
  const s = str(v);
  if (s === undefined || s.trim() === '') return undefined;
  let words: string[];
  try {
    words = splitShellWords(s);
  } catch (e) {
    throw bad(host, `ansible_become_flags: ${(e as Error).message.replace('ssh arguments', 'sudo flags')}`);
  }
  if (!words[0].startsWith('-')) throw bad(host, `ansible_become_flags must be sudo options (starting with '-'), got '${s}'`);
  const odd = words.find((w) => !/^[A-Za-z0-9_=.,:\/@%+-]+$/.test(w));
  if (odd !== undefined) throw bad(host, `ansible_become_flags: ${JSON.stringify(odd)} is not a sudo option or argument (letters, digits and - _ = . , : / @ % + only)`);
  return shJoin(words);
}

/** Splits ssh arguments like a POSIX shell would (quotes, backslashes), as Ansible does with shlex. */
export function splitShellWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new PlayError(`unterminated ' in ssh arguments: ${s}`);
      cur += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1])) i++;
        cur += s[i++];
      }
      if (i >= s.length) throw new PlayError(`unterminated " in ssh arguments: ${s}`);
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** What ansible_ssh_common_args / ansible_ssh_extra_args set, by OpenSSH keyword (lower case). */
export function parseSshArgs(args: string, host: string): Map<string, string> {
  const out = new Map<string, string>();
  const words = splitShellWords(args);
  const set = (k: string, v: string) => {
    if (!out.has(k)) out.set(k, v); // like ssh: the first -o for a keyword wins
  };
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    const takeValue = (flag: string): string => {
      if (w.length > flag.length) return w.slice(flag.length);
      const v = words[++i];
      if (v === undefined) throw bad(host, `ssh argument ${flag} needs a value`);
      return v;
    };
    if (w.startsWith('-o')) {
      const opt = takeValue('-o');
      const m = /^([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(opt);
      if (!m) throw bad(host, `cannot read ssh option '-o ${opt}': use -o Keyword=value`);
      set(m[1].toLowerCase(), m[2]);
    } else if (w.startsWith('-J')) set('proxyjump', takeValue('-J'));
    else if (w.startsWith('-i')) set('identityfile', takeValue('-i'));
    else if (w.startsWith('-p')) set('port', takeValue('-p'));
    else if (w.startsWith('-l')) set('user', takeValue('-l'));
    // Other flags (-C, -4, -q, ...) do not change where or how we connect: ignored.
  }
  if (out.has('proxycommand')) {
    throw bad(host, 'ProxyCommand is not supported by the built-in SSH transport: use ProxyJump (-J host) instead');
  }
  return out;
}

function checkingFrom(v: unknown, host: string, name: string): HostKeyChecking | undefined {
  const s = str(v)?.toLowerCase();
  if (s === undefined) return undefined;
  if (s === 'accept-new') return 'accept-new';
  if (['yes', 'true', 'on', '1', 'ask', 'strict'].includes(s)) return 'strict';
  if (['no', 'false', 'off', '0'].includes(s)) return 'off';
  throw bad(host, `${name} must be true, false or accept-new, got '${s}'`);
}

function defaultKeyFiles(home: string): string[] {
  return ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => join(home, '.ssh', f)).filter((p) => existsSync(p));
}

let cachedConfig: { home: string; blocks: SshConfigBlock[] } | undefined;
function userSshConfig(home: string): SshConfigBlock[] {
  if (cachedConfig?.home === home) return cachedConfig.blocks;
  let blocks: SshConfigBlock[] = [];
  try {
    blocks = parseSshConfig(readFileSync(join(home, '.ssh', 'config'), 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  cachedConfig = { home, blocks };
  return blocks;
}

/** `[user@]host[:port]` or `ssh://[user@]host[:port]`, comma-separated. */
export function parseJumpList(s: string, host: string): Array<{ user?: string; host: string; port?: number }> {
  if (s.toLowerCase() === 'none') return [];
  return s.split(',').map((hop) => {
    const m = /^(?:ssh:\/\/)?(?:([^@\s]+)@)?(\[[^\]]+\]|[^:@\s]+)(?::([0-9]+))?$/.exec(hop.trim());
    if (!m) throw bad(host, `cannot read ProxyJump hop '${hop}': use [user@]host[:port]`);
    return { user: m[1], host: m[2].replace(/^\[|\]$/g, ''), port: m[3] ? Number(m[3]) : undefined };
  });
}

function endpoint(
  name: string, cfg: SshConfigValues, explicit: { user?: string; port?: number; keyFiles: string[] }, home: string, fallbackKeys: string[],
): SshEndpoint {
  const user = explicit.user ?? cfg.user ?? 'root';
  const port = explicit.port ?? cfg.port ?? 22;
  const host = cfg.hostname ? cfg.hostname.replace(/%h/g, name) : name;
  const ctx = { host, port, user, home };
  const keys = [...explicit.keyFiles, ...cfg.identityFiles].map((k) => expandPath(k, ctx));
  return { host, port, user, keyFiles: keys.length ? keys : fallbackKeys };
}

/** A connection value is one line: a NUL or line break would cut a sudo password or an ssh option. The value may be secret: not echoed. */
function checkOneLine(hostName: string, vars: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(vars)) {
    if (!/^(ansible_|play_)|^host_key_checking$/.test(k) || typeof v !== 'string') continue;
    const m = /[\0\r\n]/.exec(v);
    if (m) throw bad(hostName, `${k}: must be one line: it contains ${m[0] === '\0' ? 'a NUL byte' : 'a line break'} at character ${m.index + 1}`);
  }
}

export function connectionSpecFor(hostName: string, vars: Record<string, unknown>, env: SpecEnv = {}): ConnectionSpec {
  checkOneLine(hostName, vars);
  const home = env.home ?? homedir();
  const kindRaw = str(vars.ansible_connection)?.toLowerCase() ?? (hostName === 'localhost' ? 'local' : 'ssh');
  let kind: ConnectionSpec['kind'];
  if (kindRaw === 'local') kind = 'local';
  else if (['ssh', 'smart', 'paramiko', 'paramiko_ssh'].includes(kindRaw)) kind = 'ssh';
  else throw bad(hostName, `ansible_connection '${kindRaw}' is not supported: use ssh or local`);

  const args = new Map<string, string>();
  for (const name of ['ansible_ssh_common_args', 'ansible_ssh_extra_args', 'ansible_ssh_args']) {
    const v = str(vars[name]);
    if (v) for (const [k, val] of parseSshArgs(v, hostName)) if (!args.has(k)) args.set(k, val);
  }
  const address = str(vars.ansible_host) ?? str(vars.ansible_ssh_host) ?? hostName;
  const blocks = env.sshConfig ?? userSshConfig(home);
  const cfg = lookupSshConfig(blocks, address);

  const user = str(vars.ansible_user) ?? str(vars.ansible_ssh_user) ?? args.get('user');
  const port = toPort(vars.ansible_port ?? vars.ansible_ssh_port ?? args.get('port'), hostName, 'ansible_port');
  const keyVar = str(vars.ansible_ssh_private_key_file) ?? str(vars.ansible_private_key_file) ?? args.get('identityfile');
  const fallbackKeys = defaultKeyFiles(home);
  const target = endpoint(address, cfg, { user, port, keyFiles: keyVar ? [keyVar] : [] }, home, fallbackKeys);

  const jumpRaw = str(vars.play_proxy_jump) ?? str(vars.ansible_ssh_proxy_jump) ?? args.get('proxyjump') ?? cfg.proxyJump;
  const jumps = jumpRaw
    ? parseJumpList(jumpRaw, hostName).map((j) => {
        // A hop is looked up in ~/.ssh/config too; it uses the target's key when it has none of its own.
        const jc = lookupSshConfig(blocks, j.host);
        return endpoint(j.host, jc, { user: j.user, port: j.port, keyFiles: [] }, home, target.keyFiles);
      })
    : [];

  const ctx = { host: target.host, port: target.port, user: target.user, home };
  const knownVar = str(vars.play_known_hosts_file) ?? args.get('userknownhostsfile');
  const knownHostsFiles = (knownVar ? splitShellWords(knownVar) : cfg.userKnownHostsFiles ?? ['~/.ssh/known_hosts']).map((f) => expandPath(f, ctx));
  if (existsSync('/etc/ssh/ssh_known_hosts')) knownHostsFiles.push('/etc/ssh/ssh_known_hosts'); // read, never written

  const hostKeyChecking =
    checkingFrom(vars.host_key_checking, hostName, 'host_key_checking') ??
    checkingFrom(vars.ansible_host_key_checking, hostName, 'ansible_host_key_checking') ??
    checkingFrom(args.get('stricthostkeychecking'), hostName, 'StrictHostKeyChecking') ??
    checkingFrom(env.hostKeyCheckingEnv ?? process.env.ANSIBLE_HOST_KEY_CHECKING, hostName, 'ANSIBLE_HOST_KEY_CHECKING') ??
    checkingFrom(cfg.strictHostKeyChecking, hostName, 'StrictHostKeyChecking in ~/.ssh/config') ??
    'strict';

  const timeoutS = str(vars.ansible_timeout) ?? args.get('connecttimeout') ?? (cfg.connectTimeout !== undefined ? String(cfg.connectTimeout) : undefined) ?? '10';
  if (!/^[0-9]+(\.[0-9]+)?$/.test(timeoutS) || Number(timeoutS) <= 0) throw bad(hostName, `ansible_timeout must be a positive number of seconds, got '${timeoutS}'`);

  const method = str(vars.ansible_become_method)?.toLowerCase() ?? 'sudo';
  if (method !== 'sudo') throw bad(hostName, `ansible_become_method '${method}' is not supported: only sudo`);
  const becomePassword = str(vars.ansible_become_password) ?? str(vars.ansible_become_pass);
  const becomeUser = str(vars.ansible_become_user) ?? 'root';
  const userProblem = userNameProblem(becomeUser);
  if (userProblem) throw bad(hostName, `ansible_become_user: ${userProblem}`);
  const flags = becomeFlags(vars.ansible_become_flags, hostName);
  const become: BecomeSettings = {
    enabled: toBool(vars.ansible_become, hostName, 'ansible_become') ?? false,
    user: becomeUser,
    ...(becomePassword !== undefined ? { password: becomePassword } : {}),
    ...(flags ? { flags } : {}),
  };

  const agent = env.agent ?? process.env.SSH_AUTH_SOCK;
  const password = str(vars.ansible_password) ?? str(vars.ansible_ssh_pass) ?? str(vars.ansible_ssh_password);
  return {
    hostName,
    kind,
    target,
    jumps,
    ...(password !== undefined ? { password } : {}),
    ...(agent ? { agent } : {}),
    knownHostsFiles,
    hostKeyChecking,
    connectTimeoutMs: Math.round(Number(timeoutS) * 1000),
    keepalive: keepaliveFrom(vars, args, hostName),
    become,
  };
}
