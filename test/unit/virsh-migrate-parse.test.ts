// virsh output parsers on captured real output (test/fixtures/virsh_migrate): every
// `<parser>-<case>.txt` next to its `.json` expectation, one loop; then the session framing
// (virsh's interactive mode prints the marker without a newline) and the log diagnosis.
import assert from 'node:assert/strict';
import { activeNames } from '../../modules/virsh_domains/index.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../../engine/paths.js';
import {
  compareVersions,
  domainCpuXml,
  parseCpuCompare,
  parseDomInfo,
  parseDomStats,
  parseJobInfo,
  parseNodeInfo,
  parseNodeMemStats,
  parseVersion,
} from '../../modules/virsh_migrate/parse.js';
import { virshSections } from '../../modules/virsh_migrate/virsh.js';
import { sampleSplitter, watchScript } from '../../modules/virsh_migrate/watch.js';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { diagnose } from '../../modules/virsh_migrate/diagnose.js';
import { linesSince } from '../../modules/virsh_migrate/logs.js';
import { parseMigrateOutput, progressLine } from '../../modules/virsh_migrate/run.js';

const DIR = rootPath('test', 'fixtures', 'virsh_migrate');
const read = (f: string) => readFileSync(join(DIR, f), 'utf8');

const PARSERS: Record<string, (text: string) => unknown> = {
  jobinfo: parseJobInfo,
  dominfo: parseDomInfo,
  domstats: (t) => parseDomStats(t, ['test', 'g1']),
  nodeinfo: parseNodeInfo,
  nodememstats: parseNodeMemStats,
  version: parseVersion,
  cpucompare: parseCpuCompare,
};

describe('virsh_migrate parsers on captured output', () => {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.txt') && PARSERS[f.split('-')[0]]);
  it('has fixtures for every parser', () => {
    for (const p of Object.keys(PARSERS)) assert.ok(files.some((f) => f.startsWith(`${p}-`)), `no fixture for ${p}`);
  });
  for (const f of files) {
    const expected = f.replace(/\.txt$/, '.json');
    it(`${f} → ${expected}`, () => {
      assert.ok(existsSync(join(DIR, expected)), `missing ${expected}`);
      assert.deepEqual(JSON.parse(JSON.stringify(PARSERS[f.split('-')[0]](read(f)))), JSON.parse(read(expected)));
    });
  }

  it('virsh_domains active: a paused domain still lives on the host, a shut-off one does not', () => {
    const active = (f: string) => activeNames(parseDomStats(read(f), ['test']));
    assert.deepEqual(active('domstats-testdriver.txt'), ['test']);
    assert.deepEqual(active('domstats-testdriver-paused.txt'), ['test']);
    assert.deepEqual(active('domstats-testdriver-shutoff.txt'), []);
  });

  it('compares dotted versions', () => {
    assert.equal(compareVersions('9.0.0', '9.0.0'), 0);
    assert.equal(compareVersions('7.2.0', '8.0'), -1);
    assert.equal(compareVersions('10.1', '9.10.3'), 1);
  });

  it("takes the domain's <cpu> element, absent when the domain has none", () => {
    assert.equal(domainCpuXml("<domain type='qemu'><cpu mode='custom' match='exact'><model>qemu64</model></cpu></domain>"), "<cpu mode='custom' match='exact'><model>qemu64</model></cpu>");
    assert.equal(domainCpuXml("<domain type='qemu'><name>g</name></domain>"), undefined);
  });
});

describe('virsh sessions: several commands, one connection', () => {
  it('splits a joined session (markers without a newline)', () => {
    const s = virshSections(read('joined-session.txt'));
    assert.equal(s.length, 2);
    assert.equal(parseDomInfo(s[0]).name, 'test');
    assert.equal(parseNodeInfo(s[1]).cpus, 16);
  });

  it('splits an interactive session (prompt lines echoed)', () => {
    const s = virshSections(read('interactive-session.txt'));
    assert.equal(parseDomInfo(s[0]).state, 'running');
    assert.equal(parseNodeInfo(s[1]).memoryKib, 3145728);
  });

  it('the watcher cuts a stream into samples whatever the chunking', () => {
    const text = read('interactive-session.txt');
    const seen: string[] = [];
    const feed = sampleSplitter((j) => seen.push(j.type));
    for (let i = 0; i < text.length; i += 7) feed(Buffer.from(text.slice(i, i + 7)));
    assert.equal(seen.length, 2);
  });
});

describe('virsh_migrate: the migrate script and the progress line', () => {
  it("takes the wall time from the source's clock and the final figures from its job-completed event", () => {
    const out = parseMigrateOutput(read('migrate-script-output.txt'));
    assert.equal(out.wallS?.toFixed(3), '2.832');
    assert.equal(out.event?.type, 'completed');
    assert.equal(out.event?.stats.downtime_net, 102);
    assert.equal(out.event?.stats.data_processed, 137908458);
    assert.equal(out.event?.stats.memory_iteration, 3);
  });

  it('a failed migration has no event', () => {
    assert.equal(parseMigrateOutput('@@t0 1.0\n@@t1 3.5\n@@event\n').event, undefined);
  });

  it('progress: percent, data left, rate, pass and the downtime limit', () => {
    const j = parseJobInfo(read('jobinfo-running-pass1.txt'));
    assert.equal(progressLine(j, 150, false), '12% · 225 MiB left · 8 MiB/s · dirty rate n/a · pass 1 · downtime ≤ 150 ms');
  });
});

describe('virsh_migrate: the watcher is the host-side backstop of a --p2p job', () => {
  const dom = "web'1 $(reboot)";
  const script = watchScript(dom, 90.2);

  it('aborts the job itself on TERM (channel closed) and when its time bound ends', () => {
    const outer = execFileSync('sh', ['-c', 'eval "set -- $1"; printf %s "$3"', '_', script], { encoding: 'utf8' });
    const lines = outer.split('\n');
    assert.equal(lines[0], 'exec 3>&2 2>/dev/null', "the shell's own notices never go to the channel");
    assert.ok(lines[1].startsWith(`abort() { setsid sh -c 'i=0`) && outer.includes(`virsh -q domjobabort "$1"`) && outer.includes(`_ "$1" </dev/null >/dev/null 2>&1 & }\n`), outer);
    assert.ok(outer.includes(`trap 'abort "$1"; exit 143' TERM HUP\n`), outer);
    assert.match(outer, /\ntimeout --foreground 91 sh -c '.*' _ "\$1" 2>&3 3>&- \| virsh -q 2>&3 3>&- &\nexec 3>&-\nwait \$!\nabort "\$1"\nexit 0$/);
  });

  it('the domain reaches the shells only as a positional argument, quoted once', () => {
    assert.ok(script.endsWith(` _ 'web'\\''1 $(reboot)'`), script);
    assert.equal(script.split('reboot').length, 2, 'the domain appears once, as the last argument');
    execFileSync('sh', ['-n', '-c', script]);
  });
});

describe('virsh_migrate: the watcher aborts the job after its channel is gone (play SIGKILLed)', function () {
  this.timeout(20_000);
  // A fake virsh: the interactive session (-q) reads its commands and, once told to, dies of
  // TERM (as the real one does when the tie TERMs the group); domjobabort is recorded.
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'play-watch-'));
    writeFileSync(
      join(dir, 'virsh'),
      ['#!/bin/sh', 'case "$*" in', `'-q domjobabort '*) echo "abort $3" >> "$D/aborted"; exit 0;;`, `'-q domjobinfo '*) echo 'Job type: None';;`, `-q) : > "$D/started"; while read -r _; do [ -e "$D/die" ] && kill -TERM $$; done;;`, 'esac', ''].join('\n'),
    );
    chmodSync(join(dir, 'virsh'), 0o755);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Starts the watcher as sshd runs it (stdout and stderr are the channel), then closes the channel's ends as a dead sshd does. */
  const startOrphaned = async () => {
    const child = spawn('sh', ['-c', watchScript('g1', 60)], { detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, D: dir } });
    const exited = new Promise<void>((r) => child.on('exit', () => r()));
    await until(() => existsSync(join(dir, 'started')), 'the watcher did not start');
    child.stdout.destroy();
    child.stderr.destroy();
    return { pid: child.pid!, exited };
  };
  const until = async (ok: () => boolean, why: string) => {
    const end = Date.now() + 5000;
    while (!ok()) {
      assert.ok(Date.now() < end, why);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const aborted = () => existsSync(join(dir, 'aborted')) && readFileSync(join(dir, 'aborted'), 'utf8') === 'abort g1\n';

  it('its session killed first (dash then reports "Terminated" on the dead channel): no SIGPIPE death, the job is aborted', async () => {
    const w = await startOrphaned();
    try {
      writeFileSync(join(dir, 'die'), '');
      await until(aborted, 'no domjobabort after the session died with the channel gone');
      await w.exited;
    } finally {
      try { process.kill(-w.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  });

  it('TERM to its process group (what the tie sends) with the channel gone: the job is aborted, every time', async () => {
    for (let i = 0; i < 5; i++) {
      rmSync(join(dir, 'started'), { force: true });
      rmSync(join(dir, 'aborted'), { force: true });
      const w = await startOrphaned();
      try {
        process.kill(-w.pid, 'SIGTERM');
        await until(aborted, `no domjobabort after TERM (round ${i + 1})`);
        await w.exited;
      } finally {
        try { process.kill(-w.pid, 'SIGKILL'); } catch { /* gone */ }
      }
    }
  });
});

describe('virsh_migrate failure diagnosis', () => {
  it('names a TLS hostname mismatch from the source daemon log, not "domain is no longer running"', () => {
    const d = diagnose([
      { name: 'virsh', text: 'error: operation failed: domain is no longer running\n' },
      { name: 'hv1 libvirtd log', text: read('log-tls-mismatch.txt') },
    ]);
    assert.equal(d.kind, 'tls-hostname');
    assert.match(d.cause!, /certificate\/hostname mismatch/);
    assert.match(d.evidence[0], /^hv1 libvirtd log: .*Certificate does not match the hostname/);
  });

  it('names an abort, and a refused connection as the firewall', () => {
    assert.equal(diagnose([{ name: 'virsh', text: "error: operation aborted: job 'migration out' canceled by client\n" }]).kind, 'aborted');
    assert.equal(diagnose([{ name: 'hv3 libvirtd log', text: 'x: error : virNetSocketNewConnectTCP:581 : unable to connect to server at \'198.18.1.2:49152\': Connection refused\n' }]).kind, 'firewall');
  });

  it('without a known cause, quotes the error lines', () => {
    const d = diagnose([{ name: 'virsh', text: 'info: fine\nerror: something odd happened\n' }]);
    assert.equal(d.cause, undefined);
    assert.deepEqual(d.evidence, ['virsh: error: something odd happened']);
  });

  it('drops log lines from before the migration started', () => {
    const text = '2026-12-02 11:00:00.000+0000: 1: error : old failure\n2026-12-02 12:00:01.500+0000: 1: error : new failure\nno stamp\n';
    assert.equal(linesSince(text, new Date('2026-12-02T12:00:00Z')), '2026-12-02 12:00:01.500+0000: 1: error : new failure\nno stamp\n');
  });

  it("drops QEMU's unstamped lines under an old entry (a TLS error of an earlier test read as this failure's cause)", () => {
    const qemuLog = [
      '2026-12-02 13:27:00.000+0000: starting up libvirt version: 9.0.0',
      '2026-12-02T13:27:03.123456Z qemu-system-x86_64: Certificate does not match the hostname hv3-mig',
      'Certificate does not match the hostname hv3-mig',
      '2026-12-02 13:29:10.000+0000: shutting down, reason=migrated',
      'qemu-system-x86_64: terminating on signal 15',
      '',
    ].join('\n');
    assert.equal(
      linesSince(qemuLog, new Date('2026-12-02T13:29:00Z')),
      '2026-12-02 13:29:10.000+0000: shutting down, reason=migrated\nqemu-system-x86_64: terminating on signal 15\n',
    );
    assert.equal(linesSince('[ 12.5] eth1: link down\n', new Date('2026-12-02T13:29:00Z')), '[ 12.5] eth1: link down\n', 'dmesg has no ISO stamps: kept');
  });
});
