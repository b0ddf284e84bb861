// The sshd ForceCommand wrapper: logs the command, then runs it inside the host's namespaces
// (network, mount, UTS) by entering the host's holder process (holder.ts).
import { readFileSync } from 'node:fs';
import { shQuote } from '../connection/quote.js';

// bash for the ${x//} expansions: logging costs no extra process per command.
// One line per command: backslashes and newlines are escaped, decodeCommandsLog undoes it.
// Root logins go straight in. A normal login cannot enter a namespace, so it comes back through
// `sudo -n` (a NOPASSWD rule for this script, which tests that need one install) and the
// command then runs as that user again inside the namespace; only SUDO_USER is trusted.
// The holder PID is trusted only if it is a `sleep` whose network namespace is the named one
// (bash's -ef compares the namespace inodes; no extra process per command).
export function wrapperScript(ns: string, commandsLog: string, holderPidFile: string): string {
  return `#!/bin/bash
# play lab: sshd ForceCommand for namespace ${ns}.
ns=${shQuote(ns)}
log=${shQuote(commandsLog)}
holder=${shQuote(holderPidFile)}
if [ "$UID" != 0 ]; then
  exec sudo -n -- "$0" "\${SSH_ORIGINAL_COMMAND-}"
fi
if [ -n "\${SUDO_USER-}" ]; then u=$SUDO_USER; c=\${1-}; else u=; c=\${SSH_ORIGINAL_COMMAND-}; fi
if [ -n "$c" ]; then
  l=\${c//\\\\/\\\\\\\\}
  l=\${l//$'\\n'/\\\\n}
  printf '%s\\n' "$l" >> "$log"
else
  printf '%s\\n' '(interactive shell)' >> "$log"
fi
pid=
read -r pid < "$holder" 2>/dev/null
comm=
[ -n "$pid" ] && read -r comm < "/proc/$pid/comm" 2>/dev/null
if [ "$comm" != sleep ] || ! [ "/proc/$pid/ns/net" -ef "/run/netns/$ns" ]; then
  echo "play lab: the namespace holder of $ns is not running: run 'play lab up' again" >&2
  exit 255
fi
wd=$PWD
if [ -n "$u" ]; then
  home=$(getent passwd "$u" | cut -d: -f6)
  set -- nsenter -t "$pid" -n -m -u --wd="$wd" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env HOME="$home" USER="$u" LOGNAME="$u"
else
  set -- nsenter -t "$pid" -n -m -u --wd="$wd"
fi
if [ -n "$c" ]; then exec "$@" /bin/sh -c "$c"; fi
exec "$@" /bin/sh -l
`;
}

export function decodeCommandLine(line: string): string {
  return line.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

/** Every command the host ran, oldest first, exactly as the client sent it. */
export function readCommandsLog(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return text.split('\n').filter((l) => l !== '').map(decodeCommandLine);
}
