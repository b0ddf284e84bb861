// One OpenSSH sshd per lab host: its config, host key, start (wait for the PidFile) and stop
// (only a PID whose command line is our sshd with our config).
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { shQuote } from '../connection/quote.js';
import { runLocalOk } from './exec.js';
import { hostDir, labDir, sshAddress } from './names.js';

export interface SshdPaths {
  dir: string;
  config: string;
  hostKey: string;
  pidFile: string;
  log: string;
  commandsLog: string;
}

export function sshdPaths(name: string, i: number): SshdPaths {
  const dir = hostDir(name, i);
  return {
    dir,
    config: join(dir, 'sshd_config'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    pidFile: join(dir, 'sshd.pid'),
    log: join(dir, 'sshd.log'),
    commandsLog: join(dir, 'commands.log'),
  };
}

/** Per host, so its namespace and log are fixed in it (it may run through sudo for normal logins). */
export const wrapperPath = (name: string, i: number): string => join(labDir(name), 'bin', `hv${i}`);
export const authorizedKeysPath = (name: string): string => join(labDir(name), 'authorized_keys');

export function sshdConfig(name: string, octet: number, i: number): string {
  const p = sshdPaths(name, i);
  return [
    `# play lab ${name}, host hv${i}: written by \`play lab up\``,
    `ListenAddress ${sshAddress(octet, i)}:22`,
    `HostKey ${p.hostKey}`,
    `PidFile ${p.pidFile}`,
    `AuthorizedKeysFile ${authorizedKeysPath(name)}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The lab's files live in the checkout, whose parent directories we do not control.
    'StrictModes no',
    'MaxStartups 100:30:200',
    'MaxSessions 100',
    // Without it root's bash sources ~/.bashrc on every command (~90 ms instead of ~8 ms).
    'SetEnv SHLVL=1',
    'AllowTcpForwarding yes',
    'UseDNS no',
    'PrintMotd no',
    // VERBOSE logs every "Accepted publickey": tests count connections with it.
    'LogLevel VERBOSE',
    'Subsystem sftp /usr/lib/openssh/sftp-server',
    `ForceCommand ${shQuote(wrapperPath(name, i))}`,
    '',
  ].join('\n');
}

/** Keeps an existing host key across `up`s so known_hosts entries stay valid. */
export async function ensureHostKey(sshKeygen: string, path: string): Promise<void> {
  if (existsSync(path) && existsSync(`${path}.pub`)) return;
  await rm(path, { force: true });
  await rm(`${path}.pub`, { force: true });
  await runLocalOk(sshKeygen, ['-q', '-t', 'ed25519', '-N', '', '-C', 'play-lab-host', '-f', path]);
}

async function procTitle(pid: number): Promise<string | null> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return null;
  }
}

/**
 * The -f config of PID if it is an sshd listener, else null. sshd rewrites its title to
 * "sshd: /usr/sbin/sshd -f CONFIG -E LOG [listener] ...", so match that as well as plain argv.
 */
async function sshdConfigOf(pid: number): Promise<string | null> {
  const title = await procTitle(pid);
  const m = title ? /^(?:sshd: )?\S*\/sshd -f (\S+)(?: |$)/.exec(title) : null;
  return m ? m[1] : null;
}

async function isOurSshd(pid: number, config: string): Promise<boolean> {
  return (await sshdConfigOf(pid)) === config;
}

/** sshd listeners whose config lives under `dir` (a lab's state directory), PidFiles or not. */
export async function sshdsUnder(dir: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    const config = await sshdConfigOf(Number(entry));
    if (config?.startsWith(`${dir}/`) && config.endsWith('/sshd_config')) pids.push(Number(entry));
  }
  return pids;
}

async function readPid(pidFile: string): Promise<number | null> {
  try {
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

/** PIDs of sshd listeners using `config`: the PidFile's one, and any whose PidFile was lost. */
async function ourSshdPids(p: SshdPaths): Promise<number[]> {
  const fromFile = await sshdRunning(p);
  if (fromFile) return [fromFile];
  // No valid PidFile (a crashed run): look for a listener that still has our config.
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (/^[0-9]+$/.test(entry) && (await isOurSshd(Number(entry), p.config))) pids.push(Number(entry));
  }
  return pids;
}

export async function sshdRunning(p: SshdPaths): Promise<number | null> {
  const pid = await readPid(p.pidFile);
  return pid && (await isOurSshd(pid, p.config)) ? pid : null;
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Dead or a zombie: this machine's PID 1 reaps orphans only now and then. */
function isGone(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (isGone(pid)) return true;
    await delay(2);
  }
  return isGone(pid);
}

export async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return; // already gone
  }
  if (!(await waitGone(pid, 3000))) {
    process.kill(pid, 'SIGKILL');
    await waitGone(pid, 2000);
  }
}

/** Stops this host's sshd listener (open sessions stay, like a real sshd restart). */
export async function stopSshd(p: SshdPaths): Promise<void> {
  for (const pid of await ourSshdPids(p)) await killAndWait(pid);
  await rm(p.pidFile, { force: true });
}

/** Starts sshd and resolves once its PidFile names a live process (sshd writes it after binding). */
export async function startSshd(sshd: string, p: SshdPaths): Promise<number> {
  await stopSshd(p);
  await mkdir('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  await writeFile(p.log, '', { flag: 'a' });
  const logStart = (await readFile(p.log)).length;
  // -E: log to our file; sshd daemonizes, so this returns once the parent has forked.
  await runLocalOk(sshd, ['-f', p.config, '-E', p.log]);
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const pid = await sshdRunning(p);
    if (pid) return pid;
    const fresh = (await readFile(p.log)).subarray(logStart).toString('utf8');
    const fatal = fresh.split('\n').find((l) => /fatal|Cannot bind/i.test(l));
    if (fatal) throw new PlayError(`lab: sshd for ${p.config} did not start: ${fatal.trim()}`);
    await delay(5);
  }
  throw new PlayError(`lab: sshd for ${p.config} did not write its PidFile ${p.pidFile} within 10 s (see ${p.log})`);
}
