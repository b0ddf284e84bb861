// known_hosts parsing and matching, checked against what OpenSSH itself finds (ssh-keygen -F,
// captured in test/fixtures/ssh/lookups.txt) and prints (ssh-keygen -l, fingerprints.txt).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostKeyError } from '../../engine/errors.js';
import { blobKeyType, checkHostKey, entryMatches, fingerprint, indexKnownHosts, knownKeyTypes, matchingEntries, parseKnownHosts } from '../../engine/connection/known-hosts.js';
import { rootPath } from '../../engine/paths.js';

const FIX = rootPath('test', 'fixtures', 'ssh');
const read = (f: string) => readFileSync(join(FIX, f), 'utf8');
const blob = (pubFile: string) => Buffer.from(read(pubFile).split(' ')[1], 'base64');

function target(name: string): { host: string; port: number } {
  const m = /^\[(.+)\]:([0-9]+)$/.exec(name);
  return m ? { host: m[1], port: Number(m[2]) } : { host: name, port: 22 };
}

describe('known_hosts', () => {
  const files = ['known_hosts', 'known_hosts.hashed'];

  it('parses plain, hashed, marked and broken lines', () => {
    const e = parseKnownHosts(read('known_hosts'));
    assert.equal(e.length, 7, 'comments and the broken line are skipped');
    assert.deepEqual(e[0].patterns, ['hv1.example.net', '10.0.0.1']);
    assert.equal(e[0].keyType, 'ssh-ed25519');
    assert.equal(e[3].marker, 'revoked');
    assert.equal(e[4].marker, 'cert-authority');
    const h = parseKnownHosts(read('known_hosts.hashed'));
    assert.equal(h.length, 3);
    assert.ok(h.every((x) => x.hashed && x.patterns.length === 0));
  });

  it('finds the same entries as ssh-keygen -F for every name', () => {
    const sections = read('lookups.txt').split(/^== /m).filter(Boolean);
    assert.ok(sections.length >= 9);
    for (const sec of sections) {
      const [name, ...want] = sec.trim().split('\n');
      const { host, port } = target(name);
      const got: string[] = [];
      for (const f of files) {
        const lines = read(f).split('\n');
        for (const e of parseKnownHosts(read(f))) if (entryMatches(e, host, port)) got.push(lines[e.line - 1].trim());
      }
      assert.deepEqual(got.sort(), want.map((l) => l.trim()).sort(), `lookup of ${name}`);
    }
  });

  it('the index finds what matching every line finds, in file order (wildcards, negations, hashed names, any case)', () => {
    const names = read('lookups.txt').split(/^== /m).filter(Boolean).map((sec) => sec.trim().split('\n')[0]);
    for (const f of files) {
      const entries = parseKnownHosts(read(f));
      const index = indexKnownHosts(entries);
      for (const name of [...names, ...names.map((n) => n.toUpperCase())]) {
        const { host, port } = target(name);
        assert.deepEqual(matchingEntries(index, host, port), entries.filter((e) => entryMatches(e, host, port)), `${f}: ${name}`);
      }
    }
  });

  it('checks a fleet against its own known_hosts in linear time (a line per host)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kh-fleet-'));
    try {
      const file = join(dir, 'known_hosts');
      const key = read('key_ed25519.pub').split(' ').slice(0, 2).join(' ');
      const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      writeFileSync(file, Array.from({ length: 5000 }, (_, i) => `${ip(i)} ${key}\n`).join('') + '*.example.net ' + key + '\n');
      const t0 = process.cpuUsage();
      for (let i = 0; i < 5000; i++) assert.ok(checkHostKey({ hostName: `h${i}`, host: ip(i), port: 22, files: [file], checking: 'strict' }, blob('key_ed25519.pub')).ok);
      const u = process.cpuUsage(t0);
      // Matching every line for every host took ~30 s of CPU here (quadratic); indexed, well under one.
      assert.ok((u.user + u.system) / 1000 < 5000, `${(u.user + u.system) / 1000} ms`);
      assert.deepEqual(knownKeyTypes({ host: 'hv9.example.net', port: 22, files: [file] }), ['ssh-ed25519'], 'a wildcard line still matches');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('computes fingerprints exactly like ssh-keygen -l', () => {
    for (const line of read('fingerprints.txt').trim().split('\n')) {
      const [, fp, comment] = line.split(' ');
      const file = comment === 'other' ? 'key_other.pub' : `key_${comment.replace('fixture-', '')}.pub`;
      assert.equal(fingerprint(blob(file)), fp, file);
    }
    assert.equal(blobKeyType(blob('key_ecdsa.pub')), 'ecdsa-sha2-nistp256');
  });

  describe('checkHostKey', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'play-kh-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));
    const fixtureFiles = () => files.map((f) => join(FIX, f));

    it('accepts a known key, by plain or hashed entry', () => {
      for (const [host, port, key] of [['10.0.0.1', 22, 'key_ed25519.pub'], ['10.0.0.2', 2222, 'key_ecdsa.pub'], ['10.0.0.4', 22, 'key_rsa.pub']] as const) {
        assert.deepEqual(checkHostKey({ hostName: 'h', host, port, files: fixtureFiles(), checking: 'strict' }, blob(key)), { ok: true });
      }
      // Two keys recorded for one host: either is fine.
      for (const k of ['key_ed25519.pub', 'key_rsa.pub']) assert.ok(checkHostKey({ hostName: 'h', host: '10.0.0.3', port: 22, files: fixtureFiles(), checking: 'strict' }, blob(k)).ok);
      assert.deepEqual(knownKeyTypes({ host: '10.0.0.3', port: 22, files: fixtureFiles() }).sort(), ['ssh-ed25519', 'ssh-rsa']);
    });

    it('refuses an unknown host naming it and the offered fingerprint, writing nothing', () => {
      const file = join(dir, 'kh');
      writeFileSync(file, '');
      const v = checkHostKey({ hostName: 'hv7', host: '10.9.9.9', port: 22, files: [file], checking: 'strict' }, blob('key_ed25519.pub'));
      assert.ok(!v.ok);
      assert.ok(v.error instanceof HostKeyError);
      assert.equal(v.error.message, `host key for hv7 (10.9.9.9:22) is not in ${file}: ED25519 key ${fingerprint(blob('key_ed25519.pub'))}; add it with ssh-keyscan or set host_key_checking: accept-new`);
      assert.equal(readFileSync(file, 'utf8'), '');
    });

    it('refuses a changed key naming the expected and the offered fingerprint', () => {
      const v = checkHostKey({ hostName: 'hv1', host: '10.0.0.1', port: 22, files: fixtureFiles(), checking: 'accept-new' }, blob('key_other.pub'));
      assert.ok(!v.ok);
      assert.match(v.error.message, /^HOST KEY CHANGED for hv1 \(10\.0\.0\.1:22\)/);
      assert.ok(v.error.message.includes(`expected ED25519 key ${fingerprint(blob('key_ed25519.pub'))}`));
      assert.ok(v.error.message.includes(`offered ED25519 key ${fingerprint(blob('key_other.pub'))}`));
    });

    it('refuses a revoked key even when accepting new ones', () => {
      const v = checkHostKey({ hostName: 'hv9', host: '10.0.0.9', port: 22, files: fixtureFiles(), checking: 'accept-new' }, blob('key_other.pub'));
      assert.ok(!v.ok);
      assert.match(v.error.message, /REVOKED/);
    });

    it('accept-new appends one OpenSSH-format line, keeping what was there', () => {
      const file = join(dir, 'sub', 'kh');
      const first = checkHostKey({ hostName: 'a', host: '10.1.1.1', port: 2200, files: [file], checking: 'accept-new' }, blob('key_rsa.pub'));
      assert.ok(first.ok && first.added);
      writeFileSync(file, readFileSync(file, 'utf8').trimEnd()); // an editor dropped the final newline
      checkHostKey({ hostName: 'b', host: '10.1.1.2', port: 22, files: [file], checking: 'accept-new' }, blob('key_ed25519.pub'));
      const lines = readFileSync(file, 'utf8').split('\n');
      assert.equal(lines[0], `[10.1.1.1]:2200 ${read('key_rsa.pub').split(' ').slice(0, 2).join(' ')}`);
      assert.equal(lines[1], `10.1.1.2 ${read('key_ed25519.pub').split(' ').slice(0, 2).join(' ')}`);
      assert.equal(lines[2], '');
      assert.deepEqual(checkHostKey({ hostName: 'a', host: '10.1.1.1', port: 2200, files: [file], checking: 'strict' }, blob('key_rsa.pub')), { ok: true });
    });

    it('off accepts anything with a warning', () => {
      const v = checkHostKey({ hostName: 'hv1', host: '10.0.0.1', port: 22, files: fixtureFiles(), checking: 'off' }, blob('key_other.pub'));
      assert.ok(v.ok && v.warning?.includes('host key checking is off for hv1'));
    });
  });
});
