// The value grammar of libvirt's configuration files (virConf: qemu.conf, libvirtd.conf): strings
// "…" or '…', bare integers, lists [ "a", 1 ] that may span lines, `#` comments. Pure; shared by
// the qemu_conf module and the generic ini editor (neither depends on the other).

export type ConfValue = string | number | Array<string | number>;

/** Bracket depth left open after `s` (brackets inside strings and after `#` do not count). */
export function openDepth(s: string, depth = 0): number {
  let quote: string | null = null;
  for (const ch of s) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '#') break;
    else if (ch === '[') depth++;
    else if (ch === ']') depth--;
  }
  return depth;
}

/** Parses the value part of a statement (after `=`); undefined when it is not valid syntax. */
export function parseValue(src: string): ConfValue | undefined {
  let i = 0;
  const ws = () => {
    for (;;) {
      while (i < src.length && /\s/.test(src[i])) i++;
      if (src[i] !== '#') return;
      while (i < src.length && src[i] !== '\n') i++;
    }
  };
  const scalar = (): string | number | undefined => {
    const q = src[i];
    if (q === '"' || q === "'") {
      const end = src.indexOf(q, i + 1);
      if (end < 0) return undefined;
      const s = src.slice(i + 1, end);
      i = end + 1;
      return s;
    }
    const m = /^[+-]?\d+/.exec(src.slice(i));
    if (!m) return undefined;
    i += m[0].length;
    return Number(m[0]);
  };
  ws();
  let value: ConfValue | undefined;
  if (src[i] === '[') {
    i++;
    const items: Array<string | number> = [];
    ws();
    while (src[i] !== ']') {
      const item = scalar();
      if (item === undefined) return undefined;
      items.push(item);
      ws();
      if (src[i] === ',') {
        i++;
        ws();
      } else if (src[i] !== ']') return undefined;
    }
    i++;
    value = items;
  } else value = scalar();
  ws();
  return i >= src.length ? value : undefined;
}
