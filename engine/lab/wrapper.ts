// The sshd ForceCommand wrapper: logs the command, then runs it inside the host's namespace.
import { readFileSync } from 'node:fs';

// bash for the ${x//} expansions: logging costs no extra process per command.
// One line per command: backslashes and newlines are escaped, decodeCommandsLog undoes it.
export const WRAPPER_SCRIPT = `#!/bin/bash
# play lab: sshd ForceCommand. $1 = network namespace, $2 = commands log.
c=\${SSH_ORIGINAL_COMMAND-}
if [ -n "$c" ]; then
  l=\${c//\\\\/\\\\\\\\}
  l=\${l//$'\\n'/\\\\n}
  printf '%s\\n' "$l" >> "$2"
  exec ip netns exec "$1" /bin/sh -c "$c"
fi
printf '%s\\n' '(interactive shell)' >> "$2"
exec ip netns exec "$1" /bin/bash -l
`;

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
