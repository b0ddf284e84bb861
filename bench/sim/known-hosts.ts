// Strict host-key checking for the floor client: plain and hashed (|1|salt|hash) known_hosts lines.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

export interface KnownHosts {
  /** Raw public-key blobs (SSH wire format) accepted for `host` on `port`. */
  keysFor(host: string, port: number): Buffer[];
}

export function parseKnownHosts(text: string): KnownHosts {
  const entries: Array<{ patterns: string[]; blob: Buffer }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue; // markers (@revoked, @cert-authority) are not ours
    const [hosts, , b64] = line.split(/\s+/);
    if (!hosts || !b64) continue;
    entries.push({ patterns: hosts.split(','), blob: Buffer.from(b64, 'base64') });
  }
  return {
    keysFor(host, port) {
      const name = port === 22 ? host : `[${host}]:${port}`;
      return entries.filter((e) => e.patterns.some((p) => matches(p, name))).map((e) => e.blob);
    },
  };
}

function matches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return pattern === name;
}

export function loadKnownHosts(path: string): KnownHosts {
  return parseKnownHosts(readFileSync(path, 'utf8'));
}
