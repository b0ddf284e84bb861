// OpenSSH known_hosts: a pure parser and matcher, plus the check ssh2's hostVerifier runs
// (strict by default, accept-new appends, off skips) with OpenSSH-style SHA256 fingerprints.
import { createHash, createHmac } from 'node:crypto';
import { appendFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { HostKeyError } from '../errors.js';

export interface KnownHostEntry {
  /** 1-based line number in its file. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** Plain patterns (`host`, `[host]:port`, wildcards, `!negated`), or one hashed name. */
  patterns: string[];
  hashed?: { salt: Buffer; hash: Buffer };
  keyType: string;
  /** The key blob (base64-decoded), compared byte for byte with the offered key. */
  key: Buffer;
}

/** Parses known_hosts text; malformed lines are skipped, as OpenSSH does. */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const out: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, idx) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const m = fields.shift()!;
      if (m !== '@revoked' && m !== '@cert-authority') return;
      marker = m.slice(1) as KnownHostEntry['marker'];
    }
    if (fields.length < 3) return;
    const [hosts, keyType, b64] = fields;
    if (!/^[A-Za-z0-9+/]+=*$/.test(b64)) return;
    const entry: KnownHostEntry = { line: idx + 1, marker, patterns: [], keyType, key: Buffer.from(b64, 'base64') };
    if (hosts.startsWith('|1|')) {
      const [, , salt, hash] = hosts.split('|');
      if (!salt || !hash) return;
      entry.hashed = { salt: Buffer.from(salt, 'base64'), hash: Buffer.from(hash, 'base64') };
    } else {
      entry.patterns = hosts.split(',').filter(Boolean);
    }
    out.push(entry);
  });
  return out;
}

/** How OpenSSH names a host in known_hosts: bare for port 22, `[host]:port` otherwise. */
export function hostKeyName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** OpenSSH wildcard match: `*` any run, `?` one character; whole string. */
export function wildcardMatch(pattern: string, s: string): boolean {
  let re = compiledPatterns.get(pattern);
  if (!re) {
    re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    if (compiledPatterns.size >= 10000) compiledPatterns.clear();
    compiledPatterns.set(pattern, re);
  }
  return re.test(s);
}
const compiledPatterns = new Map<string, RegExp>();

export function entryMatches(e: KnownHostEntry, host: string, port: number): boolean {
  const name = hostKeyName(host, port);
  if (e.hashed) {
    const h = createHmac('sha1', e.hashed.salt).update(name).digest();
    return h.equals(e.hashed.hash);
  }
  let matched = false;
  for (const p of e.patterns) {
    const neg = p.startsWith('!');
    if (wildcardMatch(neg ? p.slice(1) : p, name)) {
      if (neg) return false; // a negated match excludes the host whatever else matches
      matched = true;
    }
  }
  return matched;
}

/** The key type written inside a key blob (its first SSH string). */
export function blobKeyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const n = key.readUInt32BE(0);
  return key.subarray(4, 4 + n).toString('latin1');
}

/** `SHA256:` + unpadded base64 of the blob's SHA-256, exactly as `ssh-keygen -l` prints. */
export function fingerprint(key: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

/** `ED25519`, `RSA`, `ECDSA`: how OpenSSH names a key type in its messages. */
export function keyTypeLabel(type: string): string {
  if (type === 'ssh-ed25519') return 'ED25519';
  if (type === 'ssh-rsa') return 'RSA';
  if (type.startsWith('ecdsa-')) return 'ECDSA';
  return type.toUpperCase();
}

export type HostKeyChecking = 'strict' | 'accept-new' | 'off';

export interface HostKeyCheck {
  /** Inventory name, for messages. */
  hostName: string;
  host: string;
  port: number;
  /** Files read; new keys are appended to the first. */
  files: string[];
  checking: HostKeyChecking;
}

export type HostKeyVerdict = { ok: true; added?: string; warning?: string } | { ok: false; error: HostKeyError };

// Every connection of a run checks the same files: parse each once, again only when it changed
// (accept-new appends, another client writes). Without this a fleet of N hosts parses an
// N-line known_hosts N times, twice.
const parsedFiles = new Map<string, { sig: string; index: KnownHostsIndex }>();

/**
 * A file's entries, indexed: a fleet's known_hosts has a line per host, and matching every line
 * (a regex each) for every host made a check quadratic (1,000 hosts with a 1,000-line file:
 * 5.8 s of CPU; 2,000: 24 s). Lines naming hosts plainly are looked up by name; the rest
 * (wildcards, negations, hashed names) are still matched one by one, as OpenSSH does.
 */
export interface KnownHostsIndex {
  byName: Map<string, KnownHostEntry[]>;
  others: KnownHostEntry[];
}

export function indexKnownHosts(entries: KnownHostEntry[]): KnownHostsIndex {
  const byName = new Map<string, KnownHostEntry[]>();
  const others: KnownHostEntry[] = [];
  for (const e of entries) {
    if (e.hashed || e.patterns.some((p) => /[*?!]/.test(p))) {
      others.push(e);
      continue;
    }
    for (const name of new Set(e.patterns.map((p) => p.toLowerCase()))) {
      const list = byName.get(name);
      if (list) list.push(e);
      else byName.set(name, [e]);
    }
  }
  return { byName, others };
}

/** The entries of an indexed file that match the host, in file order (what entryMatches keeps). */
export function matchingEntries(index: KnownHostsIndex, host: string, port: number): KnownHostEntry[] {
  const named = index.byName.get(hostKeyName(host, port).toLowerCase()) ?? [];
  const others = index.others.filter((e) => entryMatches(e, host, port));
  return others.length === 0 ? named : [...named, ...others].sort((a, b) => a.line - b.line);
}

function readIndex(file: string): KnownHostsIndex {
  try {
    const st = statSync(file);
    const sig = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
    const hit = parsedFiles.get(file);
    if (hit?.sig === sig) return hit.index;
    const index = indexKnownHosts(parseKnownHosts(readFileSync(file, 'utf8')));
    parsedFiles.set(file, { sig, index });
    return index;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { byName: new Map(), others: [] };
    throw e;
  }
}

/** Key types already recorded for a host: the ones to ask the server for first. */
export function knownKeyTypes(c: Pick<HostKeyCheck, 'files' | 'host' | 'port'>): string[] {
  const types = new Set<string>();
  for (const f of c.files) for (const e of matchingEntries(readIndex(f), c.host, c.port)) if (!e.marker) types.add(e.keyType);
  return [...types];
}

/**
 * Appends one line with a single O_APPEND write: concurrent appenders (other hosts of this
 * run, an ssh client) cannot clobber each other, unlike write-temp-and-rename.
 */
export function appendKnownHost(file: string, host: string, port: number, key: Buffer): string {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const cur = readFileSync(file);
    if (cur.length && cur[cur.length - 1] !== 0x0a) prefix = '\n';
  } catch {
    /* a new file */
  }
  const line = `${prefix}${hostKeyName(host, port)} ${blobKeyType(key)} ${key.toString('base64')}\n`;
  appendFileSync(file, line, { mode: 0o600 });
  return line.trim();
}

export function checkHostKey(c: HostKeyCheck, key: Buffer): HostKeyVerdict {
  const where = `${c.hostName} (${c.host}:${c.port})`;
  const offered = `${keyTypeLabel(blobKeyType(key))} key ${fingerprint(key)}`;
  if (c.checking === 'off') {
    return { ok: true, warning: `host key checking is off for ${where}: accepting ${offered} without verification` };
  }
  const mine = c.files.flatMap((f) => matchingEntries(readIndex(f), c.host, c.port).map((e) => ({ ...e, file: f })));
  const revoked = mine.find((e) => e.marker === 'revoked' && e.key.equals(key));
  if (revoked) {
    return { ok: false, error: new HostKeyError(c.hostName, `host key for ${where} is REVOKED in ${revoked.file}:${revoked.line}: ${offered}; refusing to connect`) };
  }
  // @cert-authority lines need host certificates, which this transport does not use: ignored.
  const plain = mine.filter((e) => !e.marker);
  if (plain.some((e) => e.key.equals(key))) return { ok: true };
  if (plain.length) {
    const expected = plain.map((e) => `${keyTypeLabel(e.keyType)} key ${fingerprint(e.key)} (${e.file}:${e.line})`).join(', ');
    return {
      ok: false,
      error: new HostKeyError(
        c.hostName,
        `HOST KEY CHANGED for ${where}: expected ${expected} but the host offered ${offered}. ` +
          `Someone could be intercepting the connection, or the host was reinstalled; if that is expected, remove the old entry and connect again`,
      ),
    };
  }
  if (c.checking === 'accept-new') {
    const file = c.files[0];
    appendKnownHost(file, c.host, c.port, key);
    return { ok: true, added: `added ${offered} for ${where} to ${file}` };
  }
  return {
    ok: false,
    error: new HostKeyError(
      c.hostName,
      `host key for ${where} is not in ${c.files.join(' or ')}: ${offered}; add it with ssh-keyscan or set host_key_checking: accept-new`,
    ),
  };
}
