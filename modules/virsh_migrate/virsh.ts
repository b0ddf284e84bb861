// Several virsh commands in one session (one connection, ~0.35 s saved per command), their
// outputs told apart by marker text that virsh's own `echo` prints.

export const VIRSH_MARK = '@@play';
/** The virsh command printing the marker: quoted so the echoed command line never contains it. */
export const VIRSH_ECHO = 'echo "@@"play';
/** Joins virsh commands into one session's command string, markers between them. */
export const virshJoin = (cmds: string[]) => cmds.join(`; ${VIRSH_ECHO}; `);

/**
 * The outputs of `cmd1; echo "@@"play; cmd2; …` in order. In interactive mode (commands on
 * stdin) virsh echoes `virsh # CMD` lines and prints the marker without a newline: both handled.
 */
export function virshSections(stdout: string): string[] {
  return stdout.split(VIRSH_MARK).map((part) =>
    part
      .split('\n')
      .filter((l) => !l.startsWith('virsh #'))
      .join('\n')
      .replace(/^\n+/, ''),
  );
}
