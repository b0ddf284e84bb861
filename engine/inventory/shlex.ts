// Python's shlex.split(line, comments=True, posix=True), which Ansible's INI plugin uses to cut a
// host line into `name k=v k="v w"` tokens. Ported from the shlex state machine, not a look-alike,
// because quoting and `#` comments must cut exactly where Ansible cuts.

const WHITESPACE = ' \t\r\n';
const QUOTES = `'"`;

export class ShlexError extends Error {}

export function shlexSplit(line: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  for (;;) {
    let state: string | null = ' ';
    let token = '';
    let quoted = false;
    let escapedState = ' ';
    for (;;) {
      const ch = i < line.length ? line[i++] : '';
      if (state === ' ') {
        if (!ch) {
          state = null;
          break;
        } else if (WHITESPACE.includes(ch)) {
          if (token || quoted) break;
        } else if (ch === '#') {
          while (i < line.length && line[i] !== '\n') i++;
        } else if (ch === '\\') {
          escapedState = 'a';
          state = ch;
        } else if (QUOTES.includes(ch)) {
          state = ch;
        } else {
          token = ch;
          state = 'a';
        }
      } else if (state === "'" || state === '"') {
        quoted = true;
        if (!ch) throw new ShlexError('No closing quotation');
        if (ch === state) state = 'a';
        else if (ch === '\\' && state === '"') {
          escapedState = state;
          state = ch;
        } else token += ch;
      } else if (state === '\\') {
        if (!ch) throw new ShlexError('No escaped character');
        // Inside double quotes a backslash only escapes `"` and `\`; elsewhere it stays.
        if (QUOTES.includes(escapedState) && ch !== state && ch !== escapedState) token += state;
        token += ch;
        state = escapedState;
      } else {
        // state 'a': inside a word
        if (!ch) {
          state = null;
          break;
        } else if (WHITESPACE.includes(ch)) {
          state = ' ';
          if (token || quoted) break;
        } else if (ch === '#') {
          while (i < line.length && line[i] !== '\n') i++;
          state = ' ';
          if (token || quoted) break;
        } else if (QUOTES.includes(ch)) {
          state = ch;
        } else if (ch === '\\') {
          escapedState = 'a';
          state = ch;
        } else token += ch;
      }
    }
    if (token === '' && !quoted) {
      if (state === null) return tokens;
      continue;
    }
    tokens.push(token);
    if (state === null) return tokens;
  }
}
