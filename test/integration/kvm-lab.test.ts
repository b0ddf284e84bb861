// The KVM lab: two real libvirt hosts in network namespaces, a real TCG guest, a real live
// migration over qemu+tls across eth1. Nothing is stubbed.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import yaml from 'js-yaml';
import {
  guestDefinedOn, guestLocation, guestSerialLog, hostExec, hostExecOk, labDown, labGuest, labLibvirtUri, labUp,
  parseSerialLog, setDirtyRate, type LabInfo,
} from '../../engine/lab/index.js';
import { daemonPid, pidsInNetns } from '../../engine/lab/libvirt.js';
import { findHolders } from '../../engine/lab/holder.js';
import { testLabName, testOctet } from './lab-fixture.js';
import { play } from './play-cli.js';

const NAME = testLabName('kvmt');
const OCTET = testOctet(32);
const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ssh(lab: LabInfo, i: number, command: string): Promise<{ stdout: string; code: number }> {
  const h = lab.hosts[i - 1];
  const args = ['-i', lab.keyPath, '-o', `UserKnownHostsFile=${lab.knownHostsPath}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes', `root@${h.address}`, command];
  return new Promise((resolve) => execFile('ssh', args, { encoding: 'utf8' }, (err, stdout) => resolve({ stdout, code: err ? Number(err.code) : 0 })));
}

const txBytes = async (lab: LabInfo, host: string) => Number(await hostExecOk(lab, host, 'cat /sys/class/net/eth1/statistics/tx_bytes'));

async function dirtyRateMb(lab: LabInfo, host: string, dom: string): Promise<number> {
  await hostExecOk(lab, host, `virsh -q domdirtyrate-calc ${dom} --seconds 1 --mode page-sampling`);
  for (let i = 0; i < 40; i++) {
    await delay(250);
    const out = await hostExecOk(lab, host, `virsh -q domstats ${dom} --dirtyrate`);
    const m = /dirtyrate\.megabytes_per_second=([0-9]+)/.exec(out);
    if (/calc_status=2/.test(out) && m) return Number(m[1]);
  }
  throw new Error('domdirtyrate-calc did not finish');
}

async function ticksAfter(lab: LabInfo, dom: string, n: number, timeoutMs = 20_000): Promise<void> {
  const start = parseSerialLog(await guestSerialLog(lab, dom)).ticks.length;
  const end = Date.now() + timeoutMs;
  while (parseSerialLog(await guestSerialLog(lab, dom)).ticks.length < start + n) {
    assert.ok(Date.now() < end, `guest ${dom} stopped ticking`);
    await delay(200);
  }
}

describe('KVM lab (integration: libvirt hosts, TCG guest, live migration over eth1)', function () {
  this.timeout(120_000);
  let lab: LabInfo;

  before(async () => {
    await labDown(NAME);
    lab = await labUp({ name: NAME, hosts: 2, octet: OCTET, libvirt: true });
  });
  after(async () => {
    await labDown(NAME);
  });

  it('makes each host its own libvirt host: hostname, host_uuid, TLS URI in the inventory', async () => {
    assert.equal((await hostExecOk(lab, 'hv1', 'hostname')).trim(), 'hv1');
    assert.equal((await ssh(lab, 2, 'hostname')).stdout.trim(), 'hv2', 'an ssh session enters the same namespaces');
    const uuid = async (h: string) => /<uuid>([^<]+)<\/uuid>/.exec(await hostExecOk(lab, h, 'virsh capabilities'))![1];
    assert.notEqual(await uuid('hv1'), await uuid('hv2'));
    const inv = yaml.load(readFileSync(lab.inventoryPath, 'utf8')) as { all: { children: { hypervisors: { hosts: Record<string, Record<string, string>> } } } };
    const hv2 = inv.all.children.hypervisors.hosts.hv2;
    assert.equal(hv2.libvirt_uri, labLibvirtUri(`198.18.${OCTET}.2`));
    // The TLS listener on eth1 answers with the lab CA's certificates, from the other host.
    assert.equal((await hostExecOk(lab, 'hv1', `virsh -c '${hv2.libvirt_uri}' hostname`)).trim(), 'hv2');
  });

  it('boots a guest that dirties memory; the rate changes at run time; each host sees only its guests', async () => {
    const g = await labGuest(lab, { name: 'busy', on: 'hv1', memoryMib: 256, dirtyRateMib: 16, workingSetMib: 64 });
    assert.ok(g.bootMs !== null && g.bootMs < 60_000);
    assert.deepEqual(await guestLocation(lab, 'busy'), ['hv1']);
    assert.match((await ssh(lab, 1, 'virsh list --name')).stdout, /^busy$/m);
    assert.doesNotMatch((await ssh(lab, 2, 'virsh list --all --name')).stdout, /busy/);
    // The dirtier ticks after each second's copy; before its first tick the guest is still filling
    // its buffers (slow under TCG on a loaded machine), which page sampling barely sees.
    await ticksAfter(lab, 'busy', 2, 90_000);
    const busy = await dirtyRateMb(lab, 'hv1', 'busy');
    assert.ok(busy >= 4, `a 16 MiB/s dirtier shows a dirty rate (page sampling under-reports): ${busy} MB/s`);
    await setDirtyRate(lab, 'hv1', 'busy', 0);
    await ticksAfter(lab, 'busy', 2);
    assert.equal(parseSerialLog(await guestSerialLog(lab, 'busy')).lastRate, 0);
    // The guest kernel and its tick still dirty a few pages: idle means far below the busy rate.
    const idle = await dirtyRateMb(lab, 'hv1', 'busy');
    assert.ok(idle <= Math.max(2, busy / 3), `rate 0: the dirtier is idle (${idle} MB/s, busy ${busy} MB/s)`);
    await setDirtyRate(lab, 'hv1', 'busy', 16);
  });

  it('migrates the guest live from hv1 to hv2 over qemu+tls, with the data crossing eth1 and no second boot', async () => {
    const tx0 = await txBytes(lab, 'hv1');
    const uri = labLibvirtUri(lab.hosts[1].migrationIp);
    const r = await hostExec(lab, 'hv1', `virsh migrate --live --p2p --persistent --undefinesource busy '${uri}'`, { timeoutMs: 90_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(await guestLocation(lab, 'busy'), ['hv2']);
    assert.deepEqual(await guestDefinedOn(lab, 'busy'), ['hv2']);
    const sent = (await txBytes(lab, 'hv1')) - tx0;
    assert.ok(sent > 100 * 2 ** 20, `hv1 sent only ${sent} bytes on eth1 for a 256 MiB guest`);
    await ticksAfter(lab, 'busy', 2);
    const log = parseSerialLog(await guestSerialLog(lab, 'busy'));
    assert.equal(log.boots, 1, 'one boot banner: the guest kept running');
    assert.equal(log.gaps, 0, 'the tick counter rose by one each time');
  });

  it("cluster-tune's handler restarts each host's own libvirtd, and the guest keeps running", async () => {
    const before = lab.hosts.map((h) => daemonPid(h, 'libvirtd'));
    const r = play(['run', 'cluster-tune.yml', '-i', lab.inventoryPath]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /HANDLER \[restart libvirt\][\s\S]*service libvirtd: restarted/);
    const after = lab.hosts.map((h) => daemonPid(h, 'libvirtd'));
    for (const [i, pid] of after.entries()) {
      assert.ok(pid && pid !== before[i], `${lab.hosts[i].name}: libvirtd ${before[i]} → ${pid}: a new daemon, in the host`);
    }
    assert.deepEqual(await guestLocation(lab, 'busy'), ['hv2']);
    await ticksAfter(lab, 'busy', 2);
    const log = parseSerialLog(await guestSerialLog(lab, 'busy'));
    assert.equal(log.boots, 1, 'the restart did not reboot the guest');
    assert.equal(log.gaps, 0);
  });

  it('lab up again changes nothing; lab down leaves no daemon, guest, holder or namespace', async () => {
    const before = lab.hosts.map((h) => daemonPid(h, 'libvirtd'));
    lab = await labUp({ name: NAME, hosts: 2, octet: OCTET, libvirt: true });
    assert.deepEqual(lab.hosts.map((h) => daemonPid(h, 'libvirtd')), before, 'running daemons are kept');
    assert.deepEqual(await guestLocation(lab, 'busy'), ['hv2']);
    const pids = (await Promise.all(lab.hosts.map((h) => pidsInNetns(h.ns)))).flat();
    assert.ok(pids.length >= 6, 'holders, daemons and QEMU run inside the hosts');
    await labDown(NAME);
    const alive = pids.filter((p) => {
      try {
        const st = readFileSync(`/proc/${p}/stat`, 'utf8');
        return !st.slice(st.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return false;
      }
    });
    assert.deepEqual(alive, []);
    assert.deepEqual(await findHolders(NAME), []);
    assert.ok(!existsSync(`/run/netns/${lab.hosts[0].ns}`));
    assert.ok(!existsSync(lab.dir));
  });
});
