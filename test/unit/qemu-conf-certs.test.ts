import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { rootPath } from '../../engine/paths.js';
import { CLIENT_FILES, SERVER_FILES, certFindings, certScript, parseCertReport, parseOpensslDate } from '../../modules/qemu_conf/cert-check.js';

// Captured from the real script run against openssl-made directories (see the fixture names):
// good: all fine; bad: server cert expires in 12 days, server key 0644, client cert from another CA;
// odd: server cert garbage, server key missing, client key from another key pair; nodir: no directory.
const fixture = (name: string) => parseCertReport(readFileSync(rootPath(`test/fixtures/qemu_conf/certs-${name}.stdout`), 'utf8'));
const ALL = [...SERVER_FILES, ...CLIENT_FILES];

describe('qemu_conf certificate checks', () => {
  it('parses the sections of the script output', () => {
    const r = fixture('bad');
    assert.equal(r.now, 1795508976);
    assert.equal(r.dir, '/tmp/h6/pki-bad');
    const key = r.files.get('server-key.pem')!;
    assert.deepEqual([key.mode, key.owner, key.group, key.keyRc], ['644', 'root', 'root', 0]);
    const cert = r.files.get('server-cert.pem')!;
    assert.deepEqual([cert.x509Rc, cert.notAfter, cert.checkendRc, cert.verifyRc], [0, 'Dec  6 08:29:32 2026 GMT', 1, 0]);
    assert.equal(r.files.get('client-cert.pem')!.verifyRc, 2);
    assert.equal(cert.pub, r.files.get('server-key.pem')!.pub);
  });

  it('finds nothing wrong in a good directory', () => {
    assert.deepEqual(certFindings(fixture('good'), ALL, 30), []);
  });

  it('names each problem of a bad directory', () => {
    assert.deepEqual(certFindings(fixture('bad'), ALL, 30), [
      'server-cert.pem expires in 12 days (< 30) (in /tmp/h6/pki-bad)',
      'server-key.pem is world-readable (0644): chmod 0600 (in /tmp/h6/pki-bad)',
      'client-cert.pem does not chain to ca-cert.pem: unable to get local issuer certificate (in /tmp/h6/pki-bad)',
    ]);
  });

  it('reports unreadable, missing and mismatched files', () => {
    assert.deepEqual(certFindings(fixture('odd'), ALL, 30), [
      'server-cert.pem does not parse as an X.509 certificate (in /tmp/h6/pki-odd)',
      'server-key.pem is missing (in /tmp/h6/pki-odd)',
      'client-key.pem does not match client-cert.pem (in /tmp/h6/pki-odd)',
    ]);
    assert.deepEqual(certFindings(fixture('nodir'), SERVER_FILES, 30), [
      'ca-cert.pem is missing (in /tmp/h6/nonexistent)',
      'server-cert.pem is missing (in /tmp/h6/nonexistent)',
      'server-key.pem is missing (in /tmp/h6/nonexistent)',
    ]);
  });

  it('requires client files only when they are asked for (migrate_tls_x509_verify off)', () => {
    const r = fixture('bad');
    assert.ok(!certFindings(r, SERVER_FILES, 30).some((f) => f.startsWith('client-')));
  });

  it('reads openssl dates', () => {
    assert.equal(parseOpensslDate('Dec  6 08:29:32 2026 GMT'), Date.UTC(2026, 11, 6, 8, 29, 32) / 1000);
    assert.equal(parseOpensslDate('garbage'), undefined);
  });

  it('builds a script that sh accepts and that resolves libvirt\'s fallback dir on the host', () => {
    const script = certScript({ defaultDir: "/nonexistent/it's here", files: SERVER_FILES, minDays: 30 });
    assert.equal(spawnSync('/bin/sh', ['-n', '-c', script]).status, 0);
    const out = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    const rep = parseCertReport(out.stdout);
    // /etc/pki/libvirt-migrate does not exist on this machine, so the default dir is used.
    assert.equal(rep.dir, "/nonexistent/it's here");
    assert.deepEqual([...rep.files.values()].map((f) => f.exists), [false, false, false]);
  });
});
