// Pure parsers for fact gathering, and the marked-section format that lets one shell script
// answer several questions in one round trip (also used by the tuning modules).

/** One section of a marked script: a name and a command whose stdout+stderr and exit code are kept. */
export interface Section {
  name: string;
  cmd: string;
}

export interface SectionOutput {
  text: string;
  rc: number;
}

const NAME_RE = /^[A-Za-z0-9_.-]+$/;

/** A POSIX sh script printing each section between `@@play NAME@@` and `@@play-rc N@@` lines. */
export function markedScript(sections: Section[]): string {
  return sections
    .map((s) => {
      if (!NAME_RE.test(s.name)) throw new Error(`bad section name ${JSON.stringify(s.name)}`);
      // The newline before the end marker is always added, so the section text comes back exact.
      return `echo '@@play ${s.name}@@'; { ${s.cmd}\n} 2>&1; printf '\\n@@play-rc %s@@\\n' "$?"`;
    })
    .join('\n');
}

/** Splits a marked script's output by section name. */
export function parseMarked(out: string): Record<string, SectionOutput> {
  const res: Record<string, SectionOutput> = {};
  const re = /^@@play ([A-Za-z0-9_.-]+)@@\n([\s\S]*?)\n@@play-rc (\d+)@@$/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(out)) !== null) res[m[1]] = { text: m[2], rc: Number(m[3]) };
  return res;
}
