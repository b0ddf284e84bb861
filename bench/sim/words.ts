// Splits a simple POSIX sh command line into words, undoing shQuote-style quoting.
// Returns undefined for anything that is not one simple command (operators, expansions),
// so the simulator never pretends to understand a pipeline or a script.

export function splitWords(line: string): string[] | undefined {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) return undefined;
      cur += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (c === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const d = line[i];
        if (d === '"') { closed = true; i++; break; }
        if (d === '$' || d === '`') return undefined;
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(line[i + 1])) { cur += line[i + 1]; i += 2; continue; }
        cur += d;
        i++;
      }
      if (!closed) return undefined;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 >= n) return undefined;
      cur += line[i + 1];
      inWord = true;
      i += 2;
    } else if (c === ' ' || c === '\t') {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
      i++;
    } else if (';&|<>()$`\n*?[#~'.includes(c) && !(c === '#' && inWord) && !(c === '~' && inWord)) {
      return undefined;
    } else {
      cur += c;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
