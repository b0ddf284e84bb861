// The lab's per-host "reboot": what a reboot looks like to a client, without touching the machine
// (a lab host shares the machine's kernel and PID 1: a real reboot command would reboot it all).
// Each host reads its own boot id at /proc/sys/kernel/random/boot_id (a file of the lab bind-mounted
// over it in the host's private mount namespace), and `.lab/<lab>/bin/hvN-reboot` drops the host's
// SSH connections, writes a new boot id, refuses connections for a while, then starts sshd again.
// shutdown/reboot/halt/poweroff found first on root's PATH inside a host are that script too.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { shQuote } from '../connection/quote.js';
import { execInHostOk } from './holder.js';
import { hostDir, labDir } from './names.js';
import type { SshdPaths } from './sshd.js';

/** Where the kernel keeps the boot id, and where every lab host finds its own. */
export const BOOT_ID_PATH = '/proc/sys/kernel/random/boot_id';
export const bootIdFile = (name: string, i: number): string => join(hostDir(name, i), 'boot_id');
/** The lab inventory's `lab_reboot_command` of host i. */
export const rebootScriptPath = (name: string, i: number): string => join(labDir(name), 'bin', `hv${i}-reboot`);

/** Seconds a lab reboot keeps the host down unless told otherwise. */
export const DEFAULT_DOWN_S = 2;

/** Directory mounted over /usr/local/sbin inside host i: the lab's shutdown, reboot, halt, poweroff. */
export const shimDir = (name: string, i: number): string => join(hostDir(name, i), 'sbin');
/** First on root's PATH (sshd's and sudo's secure_path), empty on Debian: hiding it hides nothing. */
export const SHIM_MOUNT = '/usr/local/sbin';

/**
 * The commands a reboot_command names, as the lab's reboot: `shutdown -r` and `reboot` come back
 * after the default down time; `shutdown` without -r, halt and poweroff never do (until lab up).
 */
export function shims(script: string): Record<string, string> {
  const head = '#!/bin/sh\n# play lab: this host\'s reboot is the lab\'s (engine/lab/reboot.ts), never the machine\'s.\n';
  const q = shQuote(script);
  return {
    shutdown: `${head}case " $* " in *" -r "*|*" --reboot "*) exec ${q};; *) exec ${q} never;; esac\n`,
    reboot: `${head}exec ${q}\n`,
    halt: `${head}exec ${q} never\n`,
    poweroff: `${head}exec ${q} never\n`,
  };
}

async function writeIfDifferent(path: string, content: string, mode: number): Promise<void> {
  if ((await readFile(path, 'utf8').catch(() => null)) !== content) await writeFile(path, content, { mode });
}

/**
 * Host i's boot id: a file of the lab (created once), bind-mounted over BOOT_ID_PATH inside the
 * host (its holder's mount namespace, so the machine's own boot id is untouched); and the shims
 * over /usr/local/sbin, so even a reboot_command left at its default reboots only the lab host.
 * Idempotent (a mount already there is kept).
 */
export async function ensureRebootFacility(name: string, i: number): Promise<void> {
  const file = bootIdFile(name, i);
  if (!existsSync(file)) await writeFile(file, `${randomUUID()}\n`, { mode: 0o644 });
  const dir = shimDir(name, i);
  await mkdir(dir, { recursive: true, mode: 0o755 });
  for (const [cmd, text] of Object.entries(shims(rebootScriptPath(name, i)))) await writeIfDifferent(join(dir, cmd), text, 0o755);
  const bind = (from: string, to: string) => `{ [ ${to} -ef ${shQuote(from)} ] || mount --bind ${shQuote(from)} ${to}; }`;
  await execInHostOk(name, i, `${bind(file, BOOT_ID_PATH)} && ${bind(dir, SHIM_MOUNT)}`);
}

/**
 * `hvN-reboot [SECONDS|never]`, run inside host i (over SSH, as root): returns at once; half a
 * second later (so the caller's command ends cleanly) it kills host i's sshd listener and every
 * process below it (the host's SSH connections and the commands they run), writes a new boot id,
 * waits SECONDS (default DEFAULT_DOWN_S; `never`: stays down until `play lab up`), and starts sshd
 * again in the listener's own network and mount namespaces (held open as fds 3 and 4).
 */
export function rebootScript(name: string, i: number, sshd: string, p: SshdPaths): string {
  return `#!/bin/bash
# play lab ${name}: "reboot" host hv${i} (see engine/lab/reboot.ts). Usage: $0 [SECONDS|never]
set -u
down=\${1-${DEFAULT_DOWN_S}}
case $down in never) ;; ''|*[!0-9]*) echo "usage: $0 [SECONDS|never]" >&2; exit 2;; esac
config=${shQuote(p.config)}
pidfile=${shQuote(p.pidFile)}
log=${shQuote(p.log)}
bootid=${shQuote(bootIdFile(name, i))}
sshd=${shQuote(sshd)}
pid=
read -r pid < "$pidfile" 2>/dev/null
title=
[ -n "$pid" ] && title=$(tr '\\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null)
case "$title " in *"/sshd -f $config "*) ;; *) echo "play lab: the sshd of hv${i} is not running" >&2; exit 1;; esac
exec 3<"/proc/$pid/ns/net" 4<"/proc/$pid/ns/mnt"
setsid -f bash -c '
  pid=$1 down=$2 config=$3 pidfile=$4 log=$5 bootid=$6 sshd=$7
  sleep 0.5
  below() { local c; for c in $(pgrep -P "$1"); do below "$c"; echo "$c"; done; }
  victims=$(below "$pid" | grep -vx -e "$$" -e "$BASHPID")
  kill -KILL "$pid" $victims 2>/dev/null
  rm -f "$pidfile"
  cat /proc/sys/kernel/random/uuid > "$bootid"
  [ "$down" = never ] && exit 0
  sleep "$down"
  exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin nsenter --net=/proc/self/fd/3 --mount=/proc/self/fd/4 -- "$sshd" -f "$config" -E "$log"
' lab-reboot "$pid" "$down" "$config" "$pidfile" "$log" "$bootid" "$sshd" </dev/null >/dev/null 2>&1
`;
}
