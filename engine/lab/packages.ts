// Debian packages the lab and the tests need, installed on demand: the README's commands must
// work on a fresh Debian 12 machine. Says what it installs; PLAY_NO_INSTALL=1 (or --no-install)
// refuses and prints the apt-get line instead.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { PlayError } from '../errors.js';

export interface InstallOptions {
  /** false: never install, explain what to install instead. Default: allowed unless PLAY_NO_INSTALL is set. */
  allowed?: boolean;
  log?: (line: string) => void;
}

export interface ExecOutcome {
  code: number;
  stdout: string;
  stderr: string;
}

function exec(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ExecOutcome> {
  return new Promise((resolve) => {
    execFile(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 127) : 0;
      resolve({ code, stdout, stderr: stderr || (err && typeof err.code !== 'number' ? err.message : '') });
    });
  });
}

export function installAllowedByEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = env.PLAY_NO_INSTALL;
  return v === undefined || v === '' || v === '0';
}

/** `dpkg-query` status lines → the names that are not fully installed ("ii"). Pure. */
export function notInstalled(wanted: string[], dpkgQueryOutput: string): string[] {
  const ok = new Set<string>();
  for (const line of dpkgQueryOutput.split('\n')) {
    const [name, status] = line.split('\t');
    if (name && status?.startsWith('ii')) ok.add(name.split(':')[0]!);
  }
  return wanted.filter((p) => !ok.has(p));
}

export async function missingPackages(pkgs: string[]): Promise<string[]> {
  if (!pkgs.length) return [];
  // Unknown names make dpkg-query exit 1 but it still prints the known ones.
  const r = await exec('dpkg-query', ['-W', '-f=${binary:Package}\t${db:Status-Abbrev}\n', ...pkgs]);
  if (r.code === 127) throw new PlayError(`cannot ask dpkg which packages are installed (${r.stderr.trim()}): play's lab needs Debian or Ubuntu`);
  return notInstalled(pkgs, r.stdout);
}

const aptLine = (pkgs: string[]) => `apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;

/**
 * Installs the packages that are missing, saying which and why. Service starts are forbidden
 * during the install (a packaged sshd on 0.0.0.0:22 would take every lab host's port; a packaged
 * libvirtd would run outside the lab hosts).
 */
export async function ensureDebianPackages(pkgs: string[], reason: string, opts: InstallOptions = {}): Promise<string[]> {
  const missing = await missingPackages(pkgs);
  if (!missing.length) return [];
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const allowed = opts.allowed ?? installAllowedByEnv();
  if (!allowed) {
    throw new PlayError(`${reason} needs the Debian packages ${missing.join(', ')}, which are not installed, and installing was refused (--no-install or PLAY_NO_INSTALL). Install them with: ${aptLine(missing)}`);
  }
  if (process.getuid?.() !== 0) throw new PlayError(`${reason} needs the Debian packages ${missing.join(', ')}: run as root, or install them first: ${aptLine(missing)}`);
  log(`installing Debian packages for ${reason}: ${missing.join(' ')} (refuse with --no-install or PLAY_NO_INSTALL=1)`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const lock = ['-o', 'DPkg::Lock::Timeout=300'];
  const policy = '/usr/sbin/policy-rc.d';
  const madePolicy = !existsSync(policy);
  if (madePolicy) await writeFile(policy, '#!/bin/sh\n# written by play while it installs packages: no service starts\nexit 101\n', { mode: 0o755 });
  try {
    const update = await exec('apt-get', [...lock, 'update', '-qq'], env);
    if (update.code !== 0) throw new PlayError(`apt-get update failed (exit ${update.code}) while installing ${missing.join(' ')} for ${reason}:\n${tail(update.stderr)}`);
    const inst = await exec('apt-get', [...lock, 'install', '-y', '-qq', '--no-install-recommends', ...missing], env);
    if (inst.code !== 0) throw new PlayError(`${aptLine(missing)} failed (exit ${inst.code}) for ${reason}:\n${tail(inst.stderr || inst.stdout)}`);
  } finally {
    if (madePolicy) await rm(policy, { force: true });
  }
  const still = await missingPackages(missing);
  if (still.length) throw new PlayError(`apt-get reported success but ${still.join(', ')} is still not installed (needed for ${reason})`);
  log(`installed ${missing.join(' ')}`);
  return missing;
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}
