// qemu_conf and firewall on real lab hosts over real SSH (lab 'tuneb', octet 24, 3 hosts):
// timelines (apply, again, check, drift behind our back), openssl-made certificates, and
// proof that the nftables table really lets only the allowed peer reach port 49152.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { BaseHost } from '../../engine/connection/base-host.js';
import { formatChange, type Module } from '../../engine/module/contract.js';
import { runModule, type LoopOutcome } from '../module-loop.js';
import { rootPath } from '../../engine/paths.js';
import { shQuote } from '../../engine/connection/quote.js';
import { qemuConf } from '../../modules/qemu_conf/index.js';
import { firewall } from '../../modules/firewall/index.js';
import { setKeys } from '../../modules/qemu_conf/parse.js';
import { testLabName, testOctet, connectLab, nsExec, startLab, stopLab, type LabInfo } from './lab-fixture.js';
import type { ConnectionPool } from '../../engine/connection/pool.js';

const NAME = testLabName('tuneb');
const OCTET = testOctet(24);

/** The engine's module loop (test/module-loop.ts); a real run here must not fail, a check may. */
function task(host: BaseHost, name: 'qemu_conf' | 'firewall', raw: Record<string, unknown>, check = false): Promise<LoopOutcome> {
  // Imported directly, not through the registry: other parts' modules may be mid-change.
  const mod = (name === 'qemu_conf' ? qemuConf : firewall) as Module;
  return runModule(host, mod, raw, { check, mayFail: check });
}

const MKPKI = `
set -e
d=$1; mode=$2; rm -rf "$d"; mkdir -p "$d"; cd "$d"
q() { "$@" >/dev/null 2>&1; }
q openssl req -x509 -newkey rsa:2048 -nodes -keyout ca-key.pem -out ca-cert.pem -days 3650 -subj /CN=play-test-ca
mk() { q openssl req -newkey rsa:2048 -nodes -keyout $1-key.pem -out $1.csr -subj /CN=$1
       q openssl x509 -req -in $1.csr -CA $3-cert.pem -CAkey $3-key.pem -CAcreateserial -out $1-cert.pem -days $2
       rm -f $1.csr; chmod 600 $1-key.pem; }
if [ "$mode" = good ]; then mk server 365 ca; mk client 365 ca
else q openssl req -x509 -newkey rsa:2048 -nodes -keyout other-key.pem -out other-cert.pem -days 3650 -subj /CN=other-ca
     mk server 12 ca; mk client 365 other; chmod 644 server-key.pem; rm -f other-*.pem; fi
rm -f ca-key.pem *.srl`;

describe('qemu_conf and firewall on the lab (tuneb)', function () {
  this.timeout(60_000);
  let lab: LabInfo;
  let pool: ConnectionPool;
  let hosts: BaseHost[] = [];
  const listeners: ChildProcess[] = [];
  const QEMU_CONF = '/etc/libvirt/qemu.conf';
  const DEBIAN = readFileSync(rootPath('test/fixtures/qemu_conf/debian12-qemu.conf'), 'utf8');

  before(async () => {
    lab = await startLab({ name: NAME, hosts: 3, octet: OCTET });
    ({ pool, hosts } = await connectLab(lab));
    for (const h of lab.hosts) await nsExec(h.ns, `cat > ${QEMU_CONF}`, { stdin: DEBIAN });
    await nsExec(lab.hosts[0].ns, `sh -c ${shQuote(MKPKI)} mkpki /etc/libvirt/pki-good good`);
    await nsExec(lab.hosts[1].ns, `sh -c ${shQuote(MKPKI)} mkpki /etc/libvirt/pki-bad bad`);
  });
  after(async () => {
    for (const l of listeners) if (l.pid) process.kill(l.pid);
    await pool?.closeAll();
    await stopLab(NAME);
  });

  const tls = (dir: string) => ({
    settings: { migrate_tls_x509_cert_dir: dir, migrate_tls_x509_verify: 1, migrate_tls_force: 1, migration_port_min: 49152, migration_port_max: 49215 },
  });

  it('qemu_conf: changes once, then nothing; check mode and drift behind our back', async () => {
    const [hv1] = hosts;
    const ns = lab.hosts[0].ns;
    const first = await task(hv1, 'qemu_conf', tls('/etc/libvirt/pki-good'));
    assert.deepEqual(first.failures, []);
    assert.deepEqual(first.changes.map((c) => c.path.split(' ')[1]), ['migrate_tls_x509_cert_dir', 'migrate_tls_x509_verify', 'migrate_tls_force', 'migration_port_min', 'migration_port_max']);
    const text = (await nsExec(ns, `cat ${QEMU_CONF}`)).stdout;
    assert.equal(text, setKeys(DEBIAN, tls('/etc/libvirt/pki-good').settings));
    assert.match(text, /^migrate_tls_force = 1$/m);
    const backups = (await nsExec(ns, 'ls /etc/libvirt/')).stdout.split('\n').filter((f) => f.startsWith('qemu.conf.') && f.endsWith('~'));
    assert.equal(backups.length, 1);
    assert.equal((await nsExec(ns, `cat /etc/libvirt/${backups[0]}`)).stdout, DEBIAN);

    assert.deepEqual((await task(hv1, 'qemu_conf', tls('/etc/libvirt/pki-good'))).changes, []);

    await nsExec(ns, `sed -i 's/^migrate_tls_force = 1$/migrate_tls_force = 0/' ${QEMU_CONF}`);
    const drifted = (await nsExec(ns, `cat ${QEMU_CONF}`)).stdout;
    const check = await task(hv1, 'qemu_conf', tls('/etc/libvirt/pki-good'), true);
    assert.deepEqual(check.changes.map(formatChange), ["/etc/libvirt/qemu.conf migrate_tls_force: '0' → '1'"]);
    assert.equal((await nsExec(ns, `cat ${QEMU_CONF}`)).stdout, drifted, 'check mode changes nothing');
    assert.equal((await task(hv1, 'qemu_conf', tls('/etc/libvirt/pki-good'))).changes.length, 1);
    assert.equal((await nsExec(ns, `cat ${QEMU_CONF}`)).stdout, text);
  });

  it('qemu_conf: names each certificate problem, in check mode too, with real openssl-made certs', async () => {
    const hv2 = hosts[1];
    const r = await task(hv2, 'qemu_conf', tls('/etc/libvirt/pki-bad'), true);
    assert.deepEqual(r.failures, [
      'server-cert.pem expires in 12 days (< 30) (in /etc/libvirt/pki-bad)',
      'server-key.pem is world-readable (0644): chmod 0600 (in /etc/libvirt/pki-bad)',
      'client-cert.pem does not chain to ca-cert.pem: unable to get local issuer certificate (in /etc/libvirt/pki-bad)',
    ]);
    // A lower threshold accepts the 12-day certificate; the other two findings stay.
    const lenient = await task(hv2, 'qemu_conf', { ...tls('/etc/libvirt/pki-bad'), cert_min_days: 5 }, true);
    assert.equal(lenient.failures.length, 2);
    assert.equal((await nsExec(lab.hosts[1].ns, `cat ${QEMU_CONF}`)).stdout, DEBIAN, 'findings stop the task before any write');
  });

  const TABLE = 'inet live_migration';
  const PERSIST = '/etc/nftables.d/live-migration.nft';

  /** Connects from host `from` to hv1's eth1 port 49152; 'open', 'timeout' or an error code. */
  async function probe(from: number): Promise<string> {
    const js = `const s=require('net').connect({host:'${lab.hosts[0].migrationIp}',port:49152});s.setTimeout(1500,()=>{console.log('timeout');process.exit()});s.on('connect',()=>{console.log('open');process.exit()});s.on('error',e=>{console.log(e.code);process.exit()})`;
    return (await nsExec(lab.hosts[from].ns, `${shQuote(process.execPath)} -e ${shQuote(js)}`)).stdout.trim();
  }

  it('firewall: only the allowed peer reaches a listener on 49152 after apply', async () => {
    const hv1 = hosts[0];
    const js = `require('net').createServer(c=>c.end()).listen(49152,'${lab.hosts[0].migrationIp}',()=>console.log('listening'))`;
    const l = spawn('ip', ['netns', 'exec', lab.hosts[0].ns, process.execPath, '-e', js], { stdio: ['ignore', 'pipe', 'inherit'] });
    listeners.push(l);
    await new Promise<void>((resolve) => l.stdout!.once('data', () => resolve()));
    assert.equal(await probe(2), 'open', 'hv3 reaches the listener before the firewall');

    const params = { allow_from: [`${lab.hosts[1].migrationIp}/32`], extra_ports: [16514], persist_file: PERSIST };
    const first = await task(hv1, 'firewall', params);
    assert.deepEqual(first.changes.map((c) => c.path), [`nft table ${TABLE}`, `file ${PERSIST}`]);
    assert.equal(await probe(1), 'open', 'hv2 is allowed');
    assert.equal(await probe(2), 'timeout', 'hv3 is dropped');
    // Other tables are never touched; the persisted file loads on its own.
    const ns = lab.hosts[0].ns;
    await nsExec(ns, `nft -c -f ${PERSIST}`);
    assert.deepEqual((await task(hv1, 'firewall', params)).changes, []);
  });

  it('firewall: check mode reports drift of the live rules and of the file apart, and repairs both', async () => {
    const hv1 = hosts[0];
    const ns = lab.hosts[0].ns;
    const params = { allow_from: [`${lab.hosts[1].migrationIp}/32`], extra_ports: [16514], persist_file: PERSIST };
    const listing = JSON.parse((await nsExec(ns, 'nft -j -a list chain inet live_migration input')).stdout).nftables;
    const accept = listing.find((o: any) => o.rule && JSON.stringify(o.rule.expr).includes('accept'));
    await nsExec(ns, `nft delete rule inet live_migration input handle ${accept.rule.handle}`);
    await nsExec(ns, `nft add table ip other; nft add chain ip other c`);
    await nsExec(ns, `sed -i 's/accept$/drop/' ${PERSIST}`);
    const fileBefore = (await nsExec(ns, `cat ${PERSIST}`)).stdout;

    const check = await task(hv1, 'firewall', params, true);
    assert.deepEqual(check.changes.map(formatChange), [
      `nft table ${TABLE} rule: missing: ip saddr ${lab.hosts[1].migrationIp} tcp dport { 16514, 49152-49215 } accept`,
      `file ${PERSIST}: 'differs' → 'rendered ruleset'`,
    ]);
    assert.equal(await probe(1), 'timeout', 'the deleted rule really let hv2 down');
    assert.equal((await nsExec(ns, `cat ${PERSIST}`)).stdout, fileBefore, 'check mode changes nothing');

    assert.equal((await task(hv1, 'firewall', params)).changes.length, 2);
    assert.equal(await probe(1), 'open');
    // The replaced file's content is kept: it may have been an operator's own file of that name.
    const backup = (await nsExec(ns, `ls -t ${PERSIST}.*~ | head -n 1`)).stdout.trim();
    assert.match(backup, /live-migration\.nft\.\d{4}-\d\d-\d\d@.*~$/);
    assert.equal((await nsExec(ns, `cat ${shQuote(backup)}`)).stdout, fileBefore);
    assert.match((await nsExec(ns, 'nft list tables')).stdout, /table ip other/, 'other tables are left alone');
  });

  it('firewall: state absent removes the table and the file', async () => {
    const hv1 = hosts[0];
    const ns = lab.hosts[0].ns;
    const r = await task(hv1, 'firewall', { state: 'absent', persist_file: PERSIST });
    assert.deepEqual(r.changes.map((c) => c.path), [`nft table ${TABLE}`, `file ${PERSIST}`]);
    assert.doesNotMatch((await nsExec(ns, 'nft list tables')).stdout, /live_migration/);
    assert.equal((await nsExec(ns, `test -e ${PERSIST}`, { check: false })).code, 1);
    assert.equal(await probe(2), 'open');
    assert.deepEqual((await task(hv1, 'firewall', { state: 'absent', persist_file: PERSIST })).changes, []);
  });
});
