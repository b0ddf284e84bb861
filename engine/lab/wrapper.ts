// The sshd ForceCommand wrapper: logs the command, then runs it inside the host's namespace.
import { readFileSync } from 'node:fs';
import { shQuote } from '../quote.js';

// bash for the ${x//} expansions: logging costs no extra process per command.
// One line per command: backslashes and newlines are escaped, decodeCommandsLog undoes it.
// Root logins go straight in. A normal login cannot enter a namespace, so it comes back through
// `sudo -n` (a NOPASSWD rule for this script, which tests that need one install) and the
// command then runs as that user again inside the namespace; only SUDO_USER is trusted.
export function wrapperScript(ns: string, commandsLog: string): string {
  return `#!/bin/bash
# play lab: sshd ForceCommand for namespace ${ns}.
ns=${shQuote(ns)}
log=${shQuote(commandsLog)}
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
if [ -n "$u" ]; then
  home=$(getent passwd "$u" | cut -d: -f6)
  set -- ip netns exec "$ns" setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups env HOME="$home" USER="$u" LOGNAME="$u"
else
  set -- ip netns exec "$ns"
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
