// Live migration on a real 3-host libvirt lab (TCG guests, TLS control path and data over eth1),
// through the real `play` CLI: playbooks/migrate-vm.yml (check, migrate, second run), the
// preflight failures, Ctrl-C and a SIGKILL of play during a p2p migration, and the policies on a link slower than the
// guest's dirty rate (precopy aborts at its timeout, converge finishes it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp, labGuest, labRestartLibvirtd, guestLocation, guestSerialLog, parseSerialLog, hostExec, hostExecOk, labLink, type LabInfo } from '../../engine/lab/index.js';
import { testLabName, testOctet } from './lab-fixture.js';
import { CLI, play } from './play-cli.js';

const LAB = testLabName('mig');
const GUEST = 'g1';

interface TaskJson {
  task: string;
  status?: string;
  messages: string[];
  metrics?: Record<string, number | string>;
}

describe('virsh_migrate on a libvirt lab', function () {
  this.timeout(240_000);
  let lab: LabInfo;
  let dir: string;
  let inv: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'play-mig-'));
    await labDown(LAB);
    lab = await labUp({ name: LAB, hosts: 3, octet: testOctet(33), libvirt: true });
    inv = lab.inventoryPath;
    await labGuest(lab, { name: GUEST, on: 'hv1', memoryMib: 256, dirtyRateMib: 16 });
  });
  after(async () => {
    if (lab) await labDown(LAB);
    rmSync(dir, { recursive: true, force: true });
  });

  const rx = async (host: string) => Number((await hostExecOk(lab, host, 'cat /sys/class/net/eth1/statistics/rx_bytes')).trim());
  const jobType = async (host: string) => (await hostExec(lab, host, `virsh -q domjobinfo ${GUEST}`)).stdout;
  const report = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as { hosts: Array<{ name: string; tasks: TaskJson[] }> };
  const migrateTask = (file: string, host: string) => report(file).hosts.find((h) => h.name === host)!.tasks.find((t) => t.task.startsWith('Migrate'))!;

  it('migrate-vm.yml: --check touches nothing, the guest moves over eth1 without rebooting, a second run changes nothing', async () => {
    const check = play(['run', 'migrate-vm.yml', '-i', inv, '-e', `vm=${GUEST}`, '-e', 'to=hv2', '--check']);
    assert.equal(check.code, 0, check.out + check.err);
    assert.match(check.out, new RegExp(`would migrate ${GUEST} from hv1 to hv2 \\(0\\.25 GiB; estimated [0-9.]+ s at`));
    assert.deepEqual(await guestLocation(lab, GUEST), ['hv1']);
    assert.match(await jobType('hv1'), /Job type:\s+None/);

    const rxBefore = await rx('hv2');
    const json = join(dir, 'run.json');
    const prom = join(dir, 'run.prom');
    const run = play(['run', 'migrate-vm.yml', '-i', inv, '-e', `vm=${GUEST}`, '-e', 'to=hv2', '--report', `json=${json}`, '--report', `prometheus=${prom}`]);
    assert.equal(run.code, 0, run.out + run.err);
    assert.deepEqual(await guestLocation(lab, GUEST), ['hv2']);
    const received = (await rx('hv2')) - rxBefore;
    assert.ok(received > 64 * 1048576, `only ${received} bytes crossed hv2's eth1`);
    // One boot, and the tick counter kept rising across the switch-over.
    const ticksAt = parseSerialLog(await guestSerialLog(lab, GUEST)).ticks.length;
    await new Promise((r) => setTimeout(r, 2500));
    const log = parseSerialLog(await guestSerialLog(lab, GUEST));
    assert.equal(log.boots, 1);
    assert.equal(log.gaps, 0);
    assert.ok(log.ticks.length > ticksAt, 'the guest ticks on hv2');

    const t = migrateTask(json, 'hv1');
    assert.equal(t.status, 'changed');
    for (const k of ['total_s', 'downtime_ms', 'setup_ms', 'data_mib', 'avg_mibps', 'peak_mibps', 'iterations', 'strategy']) assert.ok(t.metrics?.[k] !== undefined, `metric ${k} missing`);
    assert.ok(Number(t.metrics!.downtime_ms) >= 0 && Number(t.metrics!.downtime_ms) <= 500);
    const text = readFileSync(prom, 'utf8');
    assert.match(text, /^play_virsh_migrate_total_seconds\{host="hv1",.*\} [0-9.]+$/m);
    assert.match(text, /^play_virsh_migrate_downtime_seconds\{host="hv1",.*\} [0-9.e-]+$/m);
    assert.match(text, /^play_virsh_migrate_strategy_info\{host="hv1",.*value="(precopy|raised-downtime)"\} 1$/m);
    console.log(`      migrated in ${t.metrics!.total_s} s (job ${t.metrics!.job_s} s), downtime ${t.metrics!.downtime_ms} ms, ${t.metrics!.data_mib} MiB, ${received} B on eth1`);

    const again = play(['run', 'migrate-vm.yml', '-i', inv, '-e', `vm=${GUEST}`, '-e', 'to=hv2', '--detailed-exitcodes']);
    assert.equal(again.code, 0, again.out + again.err);
    assert.match(again.out, /hv2\s+ok=\d+\s+changed=0/);

    // A VM that runs nowhere (a typo) fails, instead of every host skipping and exit 0.
    const missing = play(['run', 'migrate-vm.yml', '-i', inv, '-e', 'vm=nosuchvm', '-e', 'to=hv2']);
    assert.equal(missing.code, 4, missing.out + missing.err);
    assert.match(missing.out, /nosuchvm runs on none of hv1, hv2, hv3: check its name and state with virsh list --all/);
  });

  it('virsh_domains registers the facts; preflight: a missing domain, an unreachable destination libvirt and too little memory fail before anything starts', async () => {
    const pb = join(dir, 'preflight.yml');
    const hv3 = lab.hosts.find((h) => h.name === 'hv3')!;
    writeFileSync(
      pb,
      `- hosts: hv2
  gather_facts: false
  tasks:
    - name: Domains of hv2
      virsh_domains: {}
      register: hv
    - name: The facts the evacuation playbooks rely on
      assert:
        that:
          - "hv.running == ['${GUEST}']"
          - "hv.domains[0].name == '${GUEST}' and hv.domains[0].state == 'running' and hv.domains[0].persistent"
          - "hv.domains[0].memory_kib == 262144 and hv.domains[0].vcpus == 1"
          - "hv.free_memory_kib > 262144 and hv.total_memory_kib >= hv.free_memory_kib and hv.cpus >= 1"
    - name: Missing domain
      virsh_migrate: { domain: nope, to: hv1 }
      ignore_errors: true
    - name: Unreachable destination libvirt
      virsh_migrate: { domain: ${GUEST}, to: hv3, dest_uri: "qemu+tls://${hv3.migrationIp}:1/system?pkipath=/etc/pki/libvirt-client" }
      ignore_errors: true
    - name: Not enough memory
      virsh_migrate: { domain: ${GUEST}, to: hv1, reserve_memory_mib: 100000000 }
      ignore_errors: true
`,
    );
    const json = join(dir, 'preflight.json');
    const r = play(['run', pb, '-i', inv, '--report', `json=${json}`]);
    assert.equal(r.code, 0, r.out + r.err);
    const tasks = report(json).hosts.find((h) => h.name === 'hv2')!.tasks;
    const msg = (name: string) => tasks.find((t) => t.task === name)!.messages.join('\n');
    assert.equal(tasks.find((t) => t.task === 'The facts the evacuation playbooks rely on')!.status, 'ok', msg('The facts the evacuation playbooks rely on'));
    assert.match(msg('Missing domain'), /preflight: domain nope does not exist on hv2 nor on hv1/);
    assert.match(msg('Unreachable destination libvirt'), /destination libvirt on hv3 is unreachable from hv2 over the migration network/);
    assert.match(msg('Not enough memory'), /not enough memory on hv1: g1 needs 256 MiB/);
    assert.deepEqual(await guestLocation(lab, GUEST), ['hv2']);
    assert.match(await jobType('hv2'), /Job type:\s+None/);
  });

  it('a destination firewall that admits only hv1 fails a migration from hv3 in preflight, naming the firewall', async () => {
    await labGuest(lab, { name: 'g3', on: 'hv3', memoryMib: 256, dirtyRateMib: 8 });
    const pb = join(dir, 'firewall.yml');
    writeFileSync(
      pb,
      `- hosts: hv2
  gather_facts: false
  tasks:
    - name: Migration ports only from hv1
      firewall: { ports: "49152-49215", allow_from: ["{{hostvars.hv1.migration_ip}}/32"] }
- hosts: hv3
  gather_facts: false
  tasks:
    - name: Migrate g3 to hv2
      virsh_migrate: { domain: g3, to: hv2 }
`,
    );
    const r = play(['run', pb, '-i', inv]);
    assert.equal(r.code, 4, r.out + r.err);
    assert.match(r.out, /preflight: firewall: migration port 49152 on hv2 \(198\.18\.\d+\.2\) is not reachable from hv3: the connection timed out: the destination firewall drops it/);
    assert.deepEqual(await guestLocation(lab, 'g3'), ['hv3']);
    await hostExecOk(lab, 'hv3', 'virsh -q destroy g3 >/dev/null'); // two dirtiers would slow the rest
  });

  it("TLS: migrate_tls_force refuses a migration with tls: false and makes tls: auto use TLS; a certificate that does not match migration_host is named, from preflight and from the source's log", async () => {
    // hv3 requires TLS and advertises a name its certificate does not carry (it has the IP).
    await hostExecOk(lab, 'hv3', `sed -i 's/^migration_host = .*/migration_host = "hv3-mig"/' /etc/libvirt/qemu.conf && echo 'migrate_tls_force = 1' >> /etc/libvirt/qemu.conf`);
    await labRestartLibvirtd(lab, 'hv3');
    const pb = join(dir, 'tls.yml');
    writeFileSync(
      pb,
      `- hosts: hv2
  gather_facts: false
  tasks:
    - name: Without tls
      virsh_migrate: { domain: ${GUEST}, to: hv3, tls: false }
      ignore_errors: true
    - name: Auto tls
      virsh_migrate: { domain: ${GUEST}, to: hv3 }
      ignore_errors: true
    - name: With tls
      virsh_migrate: { domain: ${GUEST}, to: hv3, tls: true }
      ignore_errors: true
    - name: With tls, no preflight
      virsh_migrate: { domain: ${GUEST}, to: hv3, tls: true, preflight: false }
      ignore_errors: true
`,
    );
    const json = join(dir, 'tls.json');
    const r = play(['run', pb, '-i', inv, '--report', `json=${json}`]);
    assert.equal(r.code, 0, r.out + r.err);
    const tasks = report(json).hosts.find((h) => h.name === 'hv2')!.tasks;
    const msg = (name: string) => tasks.find((t) => t.task === name)!.messages.join('\n');
    assert.match(msg('Without tls'), /hv3 forces TLS for migrations \(migrate_tls_force = 1 in \/etc\/libvirt\/qemu\.conf\).*set tls: true or auto/);
    // tls: auto (the default) follows hv3's migrate_tls_force: the TLS checks run, and name the certificate.
    assert.match(msg('Auto tls'), /TLS: hv3's migration certificate does not match migration_host hv3-mig \(certificate\/hostname mismatch/);
    assert.match(msg('With tls'), /TLS: hv3's migration certificate does not match migration_host hv3-mig \(certificate\/hostname mismatch/);
    assert.match(msg('With tls, no preflight'), /failed: TLS certificate\/hostname mismatch: the destination's certificate does not match hv3-mig.*g1 keeps running on hv2 \(not on hv3\)/s);
    assert.match(msg('With tls, no preflight'), /hv2 libvirtd log: .*Certificate does not match the hostname hv3-mig/);
    assert.deepEqual(await guestLocation(lab, GUEST), ['hv2']);
  });

  it('Ctrl-C during a p2p migration aborts the job within seconds; the guest runs on its source only', async () => {
    await labLink(lab, { rateMbit: 80 });
    try {
      const child = spawn(process.execPath, [CLI, 'run', 'migrate-vm.yml', '-i', inv, '-e', `vm=${GUEST}`, '-e', 'to=hv1'], { env: { ...process.env, NO_COLOR: '1', CI: 'true' } });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
      const end = Date.now() + 60_000;
      while (!/Job type:\s+Unbounded/.test(await jobType('hv2'))) {
        assert.ok(Date.now() < end, `no migration job started:\n${out}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      await new Promise((r) => setTimeout(r, 1500));
      const t0 = Date.now();
      child.kill('SIGINT');
      const code = await exited;
      const took = Date.now() - t0;
      assert.ok(took < 10_000, `play took ${took} ms to stop`);
      assert.notEqual(code, 0);
      assert.match(out, /aborted \(interrupted by SIGINT\)/);
      assert.match(out, /g1 keeps running on hv2 \(not on hv1\)/);
      assert.deepEqual(await guestLocation(lab, GUEST), ['hv2']);
      assert.match(await jobType('hv2'), /Job type:\s+None/);
      console.log(`      SIGINT → play exited in ${took} ms`);
    } finally {
      await labLink(lab, { rateMbit: null });
    }
  });

  it('play SIGKILLed during a p2p migration: the watcher on the source aborts the job within seconds; the guest runs on its source only', async () => {
    const [from] = await guestLocation(lab, GUEST);
    const to = from === 'hv1' ? 'hv2' : 'hv1';
    await labLink(lab, { rateMbit: 80 });
    try {
      const child = spawn(process.execPath, [CLI, 'run', 'migrate-vm.yml', '-i', inv, '-e', `vm=${GUEST}`, '-e', `to=${to}`], { env: { ...process.env, NO_COLOR: '1', CI: 'true' } });
      let out = '';
      child.stdout.on('data', (b) => (out += b));
      child.stderr.on('data', (b) => (out += b));
      const exited = new Promise<unknown>((res) => child.on('exit', res));
      const end = Date.now() + 60_000;
      while (!/Job type:\s+Unbounded/.test(await jobType(from))) {
        assert.ok(Date.now() < end, `no migration job started:\n${out}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      await new Promise((r) => setTimeout(r, 1500));
      child.kill('SIGKILL'); // no steering left on this side: only the host-side backstop can stop the job
      await exited;
      const t0 = Date.now();
      while (!/Job type:\s+None/.test(await jobType(from))) {
        assert.ok(Date.now() - t0 < 10_000, `the p2p job still runs on ${from} ${Date.now() - t0} ms after play was killed:\n${await jobType(from)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const took = Date.now() - t0;
      assert.deepEqual(await guestLocation(lab, GUEST), [from]);
      assert.match((await hostExecOk(lab, from, `virsh domstate ${GUEST}`)).trim(), /^running$/);
      console.log(`      SIGKILL of play → job gone on ${from} after ${took} ms`);
    } finally {
      await labLink(lab, { rateMbit: null });
    }
  });

  it("a link slower than the dirty rate: precopy aborts at its timeout, a task's timeout: aborts too (guest stays), converge completes within the downtime limit", async () => {
    await labLink(lab, { rateMbit: 80 });
    try {
      const pb = join(dir, 'policy.yml');
      writeFileSync(
        pb,
        `- hosts: hv2
  gather_facts: false
  tasks:
    - name: Migrate precopy
      virsh_migrate: { domain: ${GUEST}, to: hv1, policy: precopy, timeout_per_gib_s: 48 }
      ignore_errors: true
    - name: Migrate with a task timeout
      virsh_migrate: { domain: ${GUEST}, to: hv1, policy: precopy }
      timeout: 6
      ignore_errors: true
    - name: Migrate converge
      virsh_migrate: { domain: ${GUEST}, to: hv1, policy: converge, allow_postcopy: true, stall_window_s: 3, max_downtime_ms: 400 }
`,
      );
      const json = join(dir, 'policy.json');
      const r = play(['run', pb, '-i', inv, '--report', `json=${json}`]);
      assert.equal(r.code, 0, r.out + r.err);
      const tasks = report(json).hosts.find((h) => h.name === 'hv2')!.tasks;
      const pre = tasks.find((t) => t.task === 'Migrate precopy')!;
      assert.equal(pre.status, 'failed');
      assert.match(pre.messages[0], /aborted \(completion timeout: not done after 12 s\).*g1 keeps running on hv2 \(not on hv1\)/s);
      assert.equal(pre.metrics?.strategy, 'aborted');
      const timed = tasks.find((t) => t.task === 'Migrate with a task timeout')!;
      assert.match(timed.messages[0], /aborted \(task 'Migrate with a task timeout' on hv2 timed out after 6 s\).*g1 keeps running on hv2 \(not on hv1\)/s);
      assert.ok(Number(timed.metrics?.total_s) < 12, `aborted after ${timed.metrics?.total_s} s`);
      const conv = tasks.find((t) => t.task === 'Migrate converge')!;
      assert.equal(conv.status, 'changed', conv.messages.join('\n'));
      assert.match(String(conv.metrics?.strategy), /^(raised-downtime|postcopy)$/);
      assert.ok(Number(conv.metrics?.downtime_ms) <= 400, `downtime ${conv.metrics?.downtime_ms} ms`);
      assert.deepEqual(await guestLocation(lab, GUEST), ['hv1']);
      const ticks = parseSerialLog(await guestSerialLog(lab, GUEST)).ticks.length;
      await new Promise((r) => setTimeout(r, 2500));
      const after = parseSerialLog(await guestSerialLog(lab, GUEST));
      assert.equal(after.boots, 1);
      assert.ok(after.ticks.length > ticks, 'the guest ticks on hv1 after the post-copy migration');
      console.log(`      converge: ${conv.metrics?.strategy} in ${conv.metrics?.total_s} s, downtime ${conv.metrics?.downtime_ms} ms; steps: ${conv.metrics?.steps}`);
    } finally {
      await labLink(lab, { rateMbit: null });
    }
  });
});
