// The generic modules on real hosts: LocalHost against temp dirs for the timelines (apply →
// changed, again → nothing, check mode touches nothing, a change behind our back is seen),
// then template + ini + service over real SSH on the lab (lab 'gen', octet 22, 2 hosts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Host } from '../../engine/connection/host.js';
import { LocalHost } from '../../engine/connection/local.js';
import { rootPath } from '../../engine/paths.js';
import { formatChange, type Module } from '../../engine/module/contract.js';
import { runModule, type LoopOptions, type LoopOutcome } from '../module-loop.js';
import { commandModule } from '../../modules/command/index.js';
import { copyModule } from '../../modules/copy/index.js';
import { templateModule } from '../../modules/template/index.js';
import { fileModule } from '../../modules/file/index.js';
import { iniModule } from '../../modules/ini/index.js';
import { statModule } from '../../modules/stat/index.js';
import { serviceModule } from '../../modules/service/index.js';
import { shQuote } from '../../engine/connection/quote.js';
import type { ConnectionPool } from '../../engine/connection/pool.js';
import { testLabName, testOctet, connectLab, nsExec, startLab, stopLab, type LabInfo } from './lab-fixture.js';

/** The task failed (as a run reports it) with a message matching `re`. */
async function failsWith(host: Host, mod: Module, raw: Record<string, unknown>, re: RegExp, opts: LoopOptions = {}): Promise<LoopOutcome> {
  const r = await runModule(host, mod, raw, { ...opts, mayFail: true });
  assert.equal(r.status, 'failed', `expected a failure, got ${r.status}`);
  assert.match(r.msg ?? '', re);
  return r;
}

const paths = (o: LoopOutcome) => o.changes.map((c) => c.path);
const backupsIn = (dir: string, base: string) => readdirSync(dir).filter((f) => f.startsWith(`${base}.`) && f.endsWith('~'));
const modeOf = (p: string) => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');

describe('generic modules on LocalHost (temp dirs)', function () {
  this.timeout(20_000);
  const host = new LocalHost('local');
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-gen-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copy: create, again nothing, metadata-only change keeps content and inode, drift is seen, backup kept', async () => {
    const dest = join(dir, 'motd');
    const t = { dest, content: 'hello\n', mode: '0600' };
    const first = await runModule(host, copyModule, t);
    assert.deepEqual(first.changes.map(formatChange), [`${dest}: create (6 bytes)`, `${dest} mode: (absent) → '0600'`]);
    assert.equal(readFileSync(dest, 'utf8'), 'hello\n');
    assert.equal(modeOf(dest), '0600');
    assert.deepEqual((await runModule(host, copyModule, t)).changes, []);

    const ino = statSync(dest).ino;
    const meta = await runModule(host, copyModule, { ...t, mode: '0644' });
    assert.deepEqual(meta.changes.map(formatChange), [`${dest} mode: '0600' → '0644'`]);
    assert.equal(statSync(dest).ino, ino, 'metadata-only change must not rewrite the file');
    assert.deepEqual(backupsIn(dir, 'motd'), []);

    writeFileSync(dest, 'changed behind our back\n');
    const check = await runModule(host, copyModule, { ...t, mode: '0644' }, { check: true });
    assert.equal(check.changes[0].before, 'changed behind our back\n');
    assert.equal(check.changes[0].after, 'hello\n');
    assert.equal(readFileSync(dest, 'utf8'), 'changed behind our back\n', 'check mode changed the file');
    const fix = await runModule(host, copyModule, { ...t, mode: '0644' });
    assert.deepEqual(paths(fix), [dest]);
    assert.equal(readFileSync(dest, 'utf8'), 'hello\n');
    assert.equal(modeOf(dest), '0644', 'mode kept across the rewrite');
    const backups = backupsIn(dir, 'motd');
    assert.equal(backups.length, 1);
    assert.equal(readFileSync(join(dir, backups[0]), 'utf8'), 'changed behind our back\n');
    assert.equal(fix.data?.backup_file, join(dir, backups[0]));
  });

  it('copy: src beside the playbook, binary content, validate refuses bad content and keeps the old file', async () => {
    const bin = Buffer.from([0, 1, 2, 255, 10]);
    writeFileSync(join(dir, 'blob.bin'), bin);
    const dest = join(dir, 'out.bin');
    await runModule(host, copyModule, { src: 'blob.bin', dest }, { vars: { playbook_dir: dir } });
    assert.ok(readFileSync(dest).equals(bin));
    assert.deepEqual((await runModule(host, copyModule, { src: 'blob.bin', dest }, { vars: { playbook_dir: dir } })).changes, []);

    const conf = join(dir, 'app.conf');
    writeFileSync(conf, 'good\n');
    const validate = 'grep -q ^good %s';
    await failsWith(host, copyModule, { dest: conf, content: 'bad\n', validate }, /validate failed \(exit 1\)/);
    assert.equal(readFileSync(conf, 'utf8'), 'good\n');
    assert.deepEqual(readdirSync(dir).filter((f) => f.startsWith('.play-')), [], 'no temporary files left');
    await runModule(host, copyModule, { dest: conf, content: 'good too\n', validate });
    assert.equal(readFileSync(conf, 'utf8'), 'good too\n');
  });

  it('copy: a missing parent directory is a clear error', async () => {
    await failsWith(host, copyModule, { dest: join(dir, 'nope', 'x'), content: 'x' }, /parent directory does not exist/);
  });

  it('template: renders with the vars, looks beside the playbook, then is idempotent', async () => {
    writeFileSync(join(dir, 'mig.conf.j2'), 'migration_address = "{{ migration_ip }}"\n{{#each ports}}port {{this}}\n{{/each}}');
    const dest = join(dir, 'mig.conf');
    const vars = { playbook_dir: dir, migration_ip: '198.18.22.1', ports: [49152, 49153] };
    const first = await runModule(host, templateModule, { src: 'mig.conf.j2', dest }, { vars });
    assert.deepEqual(paths(first), [dest]);
    assert.equal(readFileSync(dest, 'utf8'), 'migration_address = "198.18.22.1"\nport 49152\nport 49153\n');
    assert.deepEqual((await runModule(host, templateModule, { src: 'mig.conf.j2', dest }, { vars })).changes, []);
    const moved = await runModule(host, templateModule, { src: 'mig.conf.j2', dest }, { vars: { ...vars, migration_ip: '198.18.22.2' } });
    assert.match(String(moved.changes[0].after), /198\.18\.22\.2/);
    await failsWith(host, templateModule, { src: 'mig.conf.j2', dest }, /migration_ip/, { vars: { playbook_dir: dir, ports: [] } });
    await failsWith(host, templateModule, { src: 'missing.j2', dest }, /'missing.j2' not found/, { vars });
  });

  it('file: directory, touch, link, absent — each converges once, metadata facets separately', async () => {
    const d = join(dir, 'sub');
    assert.deepEqual(paths(await runModule(host, fileModule, { path: d, state: 'directory', mode: '0750' })), [d, `${d} mode`]);
    assert.equal(modeOf(d), '0750');
    assert.deepEqual((await runModule(host, fileModule, { path: d, state: 'directory', mode: 'u=rwx,g=rx,o=' })).changes, []);

    const f = join(d, 'flag');
    assert.deepEqual(paths(await runModule(host, fileModule, { path: f, state: 'touch', mode: '0600', owner: 'nobody' })), [f, `${f} mode`, `${f} owner`]);
    assert.equal(statSync(f).uid, 65534);
    const mtime = statSync(f).mtimeMs;
    assert.deepEqual((await runModule(host, fileModule, { path: f, state: 'touch', mode: '0600', owner: 'nobody' })).changes, []);
    assert.equal(statSync(f).mtimeMs, mtime, 'touch of an existing file leaves it alone');
    chmodSync(f, 0o644);
    assert.deepEqual((await runModule(host, fileModule, { path: f, mode: '0600' })).changes.map(formatChange), [`${f} mode: '0644' → '0600'`]);

    const l = join(dir, 'current');
    await runModule(host, fileModule, { path: l, state: 'link', src: f });
    assert.equal(readlinkSync(l), f);
    assert.deepEqual((await runModule(host, fileModule, { path: l, state: 'link', src: f })).changes, []);
    assert.deepEqual((await runModule(host, fileModule, { path: l, state: 'link', src: d })).changes.map(formatChange), [`${l} link: '${f}' → '${d}'`]);
    assert.ok(lstatSync(l).isSymbolicLink());

    await failsWith(host, fileModule, { path: f, state: 'link', src: '/etc/hostname' }, /force: true/);
    assert.deepEqual(paths(await runModule(host, fileModule, { path: d, state: 'absent' })), [d]);
    assert.equal(existsSync(d), false);
    assert.deepEqual((await runModule(host, fileModule, { path: d, state: 'absent' })).changes, []);
  });

  it('ini: keys of a real qemu.conf change in place, others stay byte-identical, drift is fixed', async () => {
    const conf = join(dir, 'qemu.conf');
    const original = readFileSync(rootPath('test/fixtures/generic/qemu.conf'), 'utf8');
    writeFileSync(conf, original);
    const t = { path: conf, settings: { migration_port_min: 49152, migration_port_max: 49215, max_files: 32768 } };
    const first = await runModule(host, iniModule, t);
    assert.deepEqual(first.changes.map(formatChange), [
      `${conf} migration_port_min: (absent) → '49152'`,
      `${conf} migration_port_max: (absent) → '49215'`,
      `${conf} max_files: (absent) → '32768'`,
    ]);
    const text = readFileSync(conf, 'utf8');
    const a = original.split('\n');
    const b = text.split('\n');
    assert.equal(a.length, b.length);
    assert.deepEqual(a.flatMap((l, i) => (l === b[i] ? [] : [b[i]])), ['max_files = 32768', 'migration_port_min = 49152', 'migration_port_max = 49215']);
    assert.deepEqual((await runModule(host, iniModule, t)).changes, []);
    writeFileSync(conf, text.replace('max_files = 32768', 'max_files = 1'));
    assert.deepEqual((await runModule(host, iniModule, t)).changes.map(formatChange), [`${conf} max_files: '1' → '32768'`]);
    assert.equal(readFileSync(conf, 'utf8'), text);
    assert.equal(backupsIn(dir, 'qemu.conf').length, 2);

    const removed = await runModule(host, iniModule, { path: conf, option: 'max_files', state: 'absent', backup: false });
    assert.deepEqual(paths(removed), [`${conf} max_files`]);
    assert.ok(!/^max_files/m.test(readFileSync(conf, 'utf8')));
  });

  it('ini: a new sectioned file, created with its mode', async () => {
    const f = join(dir, 'new.ini');
    await runModule(host, iniModule, { path: f, section: 'Journal', settings: { Storage: 'volatile' }, mode: '0640' });
    assert.equal(readFileSync(f, 'utf8'), '[Journal]\nStorage = volatile\n');
    assert.equal(modeOf(f), '0640');
    assert.deepEqual(readdirSync(dir), ['new.ini'], 'no backup of a file that did not exist');
  });

  it('command: runs (rc/stdout for register), is "would run" in check mode, creates/removes skip, failure keeps data', async () => {
    const marker = join(dir, 'done');
    const t = { cmd: `echo hi; echo err >&2; touch ${marker}`, creates: marker };
    const check = await runModule(host, commandModule, t, { check: true });
    assert.deepEqual(check.changes.map(formatChange), [`command: would run: ${t.cmd}`]);
    assert.equal(existsSync(marker), false, 'check mode ran the command');
    const run = await runModule(host, commandModule, t);
    assert.equal(run.data?.rc, 0);
    assert.equal(run.data?.stdout, 'hi');
    assert.equal(run.data?.stderr, 'err');
    assert.deepEqual(run.data?.stdout_lines, ['hi']);
    const again = await runModule(host, commandModule, t);
    assert.deepEqual(again.changes, []);
    assert.equal(again.data?.msg, `skipped, since ${marker} exists`);
    assert.deepEqual((await runModule(host, commandModule, { cmd: 'false', removes: join(dir, 'nothing') })).changes, []);

    const argv = await runModule(host, commandModule, { argv: ['printf', '%s|', "it's", '$(id)', 'a b'], chdir: dir });
    assert.equal(argv.data?.stdout, "it's|$(id)|a b|");
    const stdin = await runModule(host, commandModule, { cmd: 'cat', stdin: 'secret text' });
    assert.equal(stdin.data?.stdout, 'secret text');

    const failed = await failsWith(host, commandModule, { cmd: 'echo partial; exit 3' }, /exit code 3/);
    assert.equal(failed.data?.rc, 3);
    assert.equal(failed.data?.stdout, 'partial');
  });

  it('stat: facts for register, and never a change', async () => {
    const f = join(dir, 's');
    writeFileSync(f, 'abc');
    chmodSync(f, 0o640);
    const r = await runModule(host, statModule, { path: f });
    const st = (r.data as { stat: Record<string, unknown> }).stat;
    assert.deepEqual(r.changes, []);
    assert.equal(st.exists, true);
    assert.equal(st.isreg, true);
    assert.equal(st.mode, '0640');
    assert.equal(st.size, 3);
    assert.equal(st.checksum, execFileSync('sha256sum', [f], { encoding: 'utf8' }).split(' ')[0]);
    assert.deepEqual((await runModule(host, statModule, { path: join(dir, 'none') })).data, { stat: { exists: false } });
    mkdirSync(join(dir, 'dd'));
    assert.equal(((await runModule(host, statModule, { path: join(dir, 'dd') })).data as { stat: { isdir: boolean } }).stat.isdir, true);
  });
});

// A tiny real sysv daemon: `sleep` in the background with a pid file, LSB status codes, reload logged.
const initScript = (run: string) => `#!/bin/sh
### BEGIN INIT INFO
# Provides:          play-testd
# Required-Start:
# Required-Stop:
# Default-Start:     2 3 4 5
# Default-Stop:      0 1 6
# Short-Description: play test daemon
### END INIT INFO
RUN=${run}
PIDF=$RUN/pid
# Alive = has a /proc entry that is not a zombie (nothing may reap an orphan in a container).
running() { [ -f "$PIDF" ] || return 1; s=$(sed 's/.*) //' "/proc/$(cat "$PIDF")/stat" 2>/dev/null | cut -c1); [ -n "$s" ] && [ "$s" != Z ]; }
case "$1" in
  start) running && exit 0; mkdir -p "$RUN"; echo start >> "$RUN/log"
         sleep 100000 >/dev/null 2>&1 </dev/null & echo $! > "$PIDF"; echo "started $!" ;;
  stop) running && kill "$(cat "$PIDF")"; rm -f "$PIDF" ;;
  restart) "$0" stop; "$0" start ;;
  reload) running || exit 7; echo reload >> "$RUN/log" ;;
  status) running && exit 0; [ -f "$PIDF" ] && exit 1; exit 3 ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
`;

describe('generic modules on the lab over real SSH (gen)', function () {
  this.timeout(60_000);
  const NAME = testLabName('gen');
  const RC_DIRS = ['rc0.d', 'rc1.d', 'rc2.d', 'rc3.d', 'rc4.d', 'rc5.d', 'rc6.d'];
  let lab: LabInfo;
  let pool: ConnectionPool;
  let hosts: Host[];
  let tpl: string;
  const runDir = (ns: string) => `/run/play-test-${ns}`;

  /** Kills the test daemon of a host (only ours: the pid from our own pid file) and removes its files. */
  function cleanHost(ns: string): void {
    const pidFile = join(runDir(ns), 'pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      try {
        if (pid > 0) process.kill(pid);
      } catch {
        /* already gone */
      }
    }
    rmSync(runDir(ns), { recursive: true, force: true });
  }

  before(async () => {
    for (const i of [1, 2]) cleanHost(`play-${NAME}-hv${i}`); // leftovers of a crashed run
    lab = await startLab({ name: NAME, hosts: 2, octet: testOctet(22) });
    for (const h of lab.hosts) {
      const overlay = join('/etc/netns', h.ns);
      for (const d of ['init.d', ...RC_DIRS]) mkdirSync(join(overlay, d), { recursive: true });
      writeFileSync(join(overlay, 'init.d', 'play-testd'), initScript(runDir(h.ns)), { mode: 0o755 });
    }
    ({ pool, hosts: hosts } = await connectLab(lab));
    tpl = mkdtempSync(join(tmpdir(), 'play-gen-tpl-'));
    writeFileSync(join(tpl, 'migration.conf.j2'), '# {{ inventory_hostname }}\nmigration_address = "{{ migration_ip }}"\n');
  });

  after(async () => {
    await pool?.closeAll();
    for (const h of lab?.hosts ?? []) cleanHost(h.ns);
    await stopLab(NAME);
    if (tpl) rmSync(tpl, { recursive: true, force: true });
  });

  const cat = async (i: number, path: string) => (await nsExec(lab.hosts[i].ns, `cat ${shQuote(path)}`)).stdout;

  it('template: each host gets its own rendering; again nothing; check mode leaves drift in place', async () => {
    const dest = '/etc/play/migration.conf';
    const vars = (i: number) => ({ playbook_dir: tpl, inventory_hostname: lab.hosts[i].name, migration_ip: lab.hosts[i].migrationIp });
    for (const i of [0, 1]) {
      assert.deepEqual(paths(await runModule(hosts[i], templateModule, { src: 'migration.conf.j2', dest, mode: '0640' }, { vars: vars(i) })), [dest, `${dest} mode`]);
      assert.equal(await cat(i, dest), `# hv${i + 1}\nmigration_address = "${lab.hosts[i].migrationIp}"\n`);
      assert.deepEqual((await runModule(hosts[i], templateModule, { src: 'migration.conf.j2', dest, mode: '0640' }, { vars: vars(i) })).changes, []);
    }
    assert.equal(existsSync(dest) && readFileSync(dest, 'utf8').includes(lab.hosts[0].migrationIp), false, "the machine's own /etc/play is untouched");
    await nsExec(lab.hosts[0].ns, `echo tampered > ${dest}`);
    const check = await runModule(hosts[0], templateModule, { src: 'migration.conf.j2', dest, mode: '0640' }, { vars: vars(0), check: true });
    assert.equal(check.changes[0].before, 'tampered\n');
    assert.equal(await cat(0, dest), 'tampered\n');
    await runModule(hosts[0], templateModule, { src: 'migration.conf.j2', dest, mode: '0640' }, { vars: vars(0) });
    assert.equal(await cat(0, dest), `# hv1\nmigration_address = "${lab.hosts[0].migrationIp}"\n`);
    assert.equal((await nsExec(lab.hosts[0].ns, `stat -c %a ${dest}`)).stdout.trim(), '640');
  });

  it('ini: qemu.conf keys over SSH, every other byte identical, drift seen and fixed', async () => {
    const conf = '/etc/libvirt/qemu.conf';
    const original = readFileSync(rootPath('test/fixtures/generic/qemu.conf'), 'utf8');
    await nsExec(lab.hosts[1].ns, `cat > ${conf}`, { stdin: original });
    const t = { path: conf, settings: { migration_address: '"198.18.22.2"', migration_port_min: 49152 } };
    assert.equal((await runModule(hosts[1], iniModule, t)).changes.length, 2);
    const text = await cat(1, conf);
    const [a, b] = [original.split('\n'), text.split('\n')];
    assert.equal(a.length, b.length);
    assert.deepEqual(a.flatMap((l, i) => (l === b[i] ? [] : [`${l} => ${b[i]}`])), [
      '#migration_address = "0.0.0.0" => migration_address = "198.18.22.2"',
      '#migration_port_min = 49152 => migration_port_min = 49152',
    ]);
    assert.deepEqual((await runModule(hosts[1], iniModule, t)).changes, []);
    await nsExec(lab.hosts[1].ns, `sed -i 's/^migration_port_min = 49152$/migration_port_min = 1/' ${conf}`);
    assert.deepEqual((await runModule(hosts[1], iniModule, t, { check: true })).changes.map(formatChange), [`${conf} migration_port_min: '1' → '49152'`]);
    await runModule(hosts[1], iniModule, t);
    assert.equal(await cat(1, conf), text);
  });

  it('service (sysv): start + enable, idempotent, restart is an action, reload, stop + disable; the other host untouched', async () => {
    const [hv1] = hosts;
    const ns = lab.hosts[0].ns;
    const pid = () => (existsSync(join(runDir(ns), 'pid')) ? Number(readFileSync(join(runDir(ns), 'pid'), 'utf8')) : undefined);
    const alive = (p: number | undefined) => p !== undefined && running(p);
    const svc = (x: Record<string, unknown>, check = false) => runModule(hv1, serviceModule, { name: 'play-testd', ...x }, { check });

    const check = await svc({ state: 'started', enabled: true }, true);
    assert.deepEqual(check.changes.map(formatChange), ['service play-testd enabled: false → true', "service play-testd: 'stopped' → 'running'"]);
    assert.equal(pid(), undefined, 'check mode started the daemon');

    await svc({ state: 'started', enabled: true });
    const p1 = pid();
    assert.ok(alive(p1), 'daemon runs');
    assert.match((await nsExec(ns, 'ls /etc/rc2.d')).stdout, /^S01play-testd$/m);
    assert.deepEqual((await svc({ state: 'started', enabled: true })).changes, []);

    const restart = await svc({ state: 'restarted' });
    assert.deepEqual(restart.changes.map(formatChange), ['service play-testd: restarted'], 'an applied action reads as done, as a run reports it');
    const p2 = pid();
    assert.ok(alive(p2));
    assert.notEqual(p2, p1, 'restart made a new process');
    assert.ok(!alive(p1), 'the old process is gone');

    await svc({ state: 'reloaded' });
    assert.equal(pid(), p2, 'reload keeps the process');
    assert.match(readFileSync(join(runDir(ns), 'log'), 'utf8'), /^reload$/m);

    kill(p2!);
    assert.deepEqual((await svc({ state: 'started' })).changes.map(formatChange), ["service play-testd: 'stopped' → 'running'"], 'a daemon that died behind our back');
    const p3 = pid();
    assert.deepEqual(paths(await svc({ state: 'stopped', enabled: false })), ['service play-testd enabled', 'service play-testd']);
    assert.ok(!alive(p3));
    assert.doesNotMatch((await nsExec(ns, 'ls /etc/rc2.d')).stdout, /^S..play-testd$/m);
    assert.deepEqual((await svc({ state: 'stopped', enabled: false })).changes, []);

    const other = await runModule(hosts[1], serviceModule, { name: 'play-testd', state: 'started' }, { check: true });
    assert.deepEqual(paths(other), ['service play-testd'], 'hv2 has its own, stopped, service');
    assert.equal(existsSync('/etc/init.d/play-testd'), false, "the machine's /etc/init.d is untouched");
    await failsWith(hv1, serviceModule, { name: 'no-such-svc', state: 'started' }, /no service 'no-such-svc'/);
  });

  it('command over SSH: runs inside the host, rc/stdout for register', async () => {
    const r = await runModule(hosts[1], commandModule, { cmd: `ip -o -4 addr show dev eth1 | grep -c ${lab.hosts[1].migrationIp}` });
    assert.equal(r.data?.stdout, '1');
  });
});

/** A live process: exists and is not a zombie (an orphaned daemon may wait for a reaper). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

function kill(pid: number): void {
  process.kill(pid);
  // Wait until it is really gone (no sleep-and-hope): poll its /proc state.
  for (let i = 0; i < 200 && running(pid); i++) execFileSync('sleep', ['0.01']);
}
