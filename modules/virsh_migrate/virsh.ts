// Several virsh commands in one session (one connection, ~0.35 s saved per command), their
// outputs told apart by `echo` marker lines.

export const VIRSH_MARK = '@@play';

/** The outputs of `cmd1; echo @@play; cmd2; …` in order (the interactive prompt lines dropped). */
export function virshSections(stdout: string): string[] {
  const out: string[] = [''];
  for (const line of stdout.split('\n')) {
    if (line.startsWith('virsh # ')) continue;
    if (line.trim() === VIRSH_MARK) out.push('');
    else out[out.length - 1] += `${line}\n`;
  }
  return out;
}
