import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { rootPath } from '../../engine/paths.js';
import { ValidationError, PlayError } from '../../engine/errors.js';
import {
  driftDiff,
  hostRows,
  parseReportSpec,
  parseReportSpecs,
  renderJsonReport,
  renderJunit,
  renderPrometheus,
  summarize,
  toJsonReport,
  verdictOf,
  writeReports,
} from '../../engine/report/index.js';
import { eventOf, loadRecord } from './report-fixture.js';

const require = createRequire(import.meta.url);
// ajv is CommonJS; its 2020-12 build validates docs/report-schema.json's dialect.
const Ajv2020 = require('ajv/dist/2020.js').default as new (o: object) => {
  compile(s: object): ((d: unknown) => boolean) & { errors?: unknown[] | null };
};
// RFC 3339 date-time, as Date#toISOString writes it (ajv-formats would be one more dependency).
const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

const SECRETS = ['REGISTERED_SECRET_VALUE', 'SECRET_IN_FILE_CONTENT'];

describe('report: verdicts', () => {
  const cases: Array<[string, Partial<ReturnType<typeof eventOf>['result']>, string, RegExp?]> = [
    ['ok', { status: 'ok' }, 'in-sync'],
    ['skipped by when', { status: 'skipped', msg: 'conditional result was false' }, 'in-sync'],
    ['loop with every item skipped', { status: 'skipped' }, 'in-sync'],
    ['skipped for another reason', { status: 'skipped', msg: 'check mode: no preview' }, 'unknown', /skipped: check mode/],
    ['check-mode change', { status: 'changed', changes: [{ path: 'eth1 mtu', from: 1500, to: 9000 }] }, 'drift'],
    ['check-mode action only', { status: 'changed', changes: [{ path: 'command', message: 'would run: systemctl restart libvirtd', action: true }] }, 'unknown', /cannot preview.*would run: systemctl restart libvirtd/],
    ['normal-run change', { status: 'changed', check: false, changes: [{ path: 'eth1 mtu', from: 1500, to: 9000 }] }, 'changed'],
    ['unreachable', { status: 'unreachable', msg: 'connect ECONNREFUSED 127.0.25.13:22' }, 'unknown', /host unreachable: connect ECONNREFUSED/],
    ['failed', { status: 'failed', msg: 'Command failed with exit code 2 on hv1: ip link set dev eth1 mtu 70000' }, 'error', /^failed: Command failed/],
    ['failed, ignored', { status: 'failed', msg: 'boom', ignored: true }, 'unknown', /^failed \(ignored\): boom/],
    ['failed, rescued', { status: 'failed', msg: 'boom', rescued: true }, 'unknown', /^failed \(rescued\): boom/],
  ];
  for (const [name, result, verdict, reason] of cases) {
    it(name, () => {
      const v = verdictOf(eventOf('hv1', 't', result));
      assert.equal(v.verdict, verdict);
      if (reason) assert.match(v.reason ?? '', reason);
      if (verdict === 'unknown' || verdict === 'error') assert.ok(v.reason, 'unknown and error always carry a reason');
    });
  }

  it('a host that failed gets unknown rows for the tasks it never reached', () => {
    const rec = loadRecord();
    const hv1 = rec.hosts.hv1;
    hv1.tasks = hv1.tasks.slice(0, 2);
    hv1.tasks[1].result = { ...hv1.tasks[1].result, status: 'failed', msg: 'sysctl: cannot stat /proc/sys/net/ipv4/tcp_rmem' };
    const rows = hostRows(rec).find((h) => h.host === 'hv1')!;
    assert.equal(rows.verdict, 'error');
    assert.deepEqual(
      rows.rows.map((r) => [r.task, r.verdict]),
      [
        ['Gathering Facts', 'in-sync'],
        ['TCP buffers for migration', 'error'],
        ['Jumbo frames on the migration network', 'unknown'],
        ['Restart libvirtd after qemu.conf changes', 'unknown'],
      ],
    );
    assert.match(rows.rows[2].reason!, /not run: host failed earlier at task 'TCP buffers for migration'/);
  });

  it('an ignored failure does not mark later tasks as not run', () => {
    const rec = loadRecord();
    rec.hosts.hv1.tasks[1].result = { ...rec.hosts.hv1.tasks[1].result, status: 'failed', msg: 'x', ignored: true };
    const rows = hostRows(rec).find((h) => h.host === 'hv1')!;
    assert.equal(rows.rows.length, 4);
    assert.ok(rows.rows.every((r) => r.event));
  });
});

describe('report: summary', () => {
  it('counts hosts and names every difference', () => {
    const s = summarize(loadRecord());
    assert.deepEqual({ ...s, line: undefined }, { hosts: 3, inSync: 1, drifted: 1, changed: 0, unreachable: 1, failed: 0, unknown: 1, changes: 3, line: undefined });
    assert.equal(
      s.line,
      "1/3 hosts drifted: hv2 runtime net.ipv4.tcp_rmem '4096\t131072\t6291456' → '4096 87380 16777216', " +
        'hv2 file /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem: missing line, hv2 eth1 mtu 1500 → 9000; 1 unreachable',
    );
  });

  it('shortens long lists and reports normal runs as changed', () => {
    const rec = loadRecord();
    rec.check = false;
    rec.command = 'run';
    const changes = Array.from({ length: 7 }, (_, i) => ({ path: `runtime vm.key${i}`, from: '0', to: '1' }));
    rec.hosts.hv1.tasks[1].result = { ...rec.hosts.hv1.tasks[1].result, status: 'changed', check: false, changes };
    for (const t of rec.hosts.hv2.tasks) t.result.check = false;
    const s = summarize(rec);
    assert.equal(s.changed, 2);
    assert.equal(s.drifted, 0);
    assert.match(s.line, /^2\/3 hosts changed: hv1 runtime vm\.key0 0 → 1, .*… and 5 more; 1 unreachable$/);
  });
});

describe('report: json', () => {
  const schema = JSON.parse(readFileSync(rootPath('docs/report-schema.json'), 'utf8'));
  const validate = new Ajv2020({ allErrors: true, strict: true, formats: { 'date-time': DATE_TIME } }).compile(schema);

  it('validates against docs/report-schema.json', () => {
    const report = JSON.parse(renderJsonReport(loadRecord()));
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
    assert.equal(report.reportVersion, 1);
    const hv2 = report.hosts.find((h: { name: string }) => h.name === 'hv2');
    assert.equal(hv2.verdict, 'drift');
    assert.deepEqual(hv2.tasks[2].changes, [{ path: 'eth1 mtu', from: 1500, to: 9000, disruptive: true }]);
    assert.deepEqual(hv2.tasks[2].warnings, ['eth1: driver veth cannot change rings (unsupported: warn)']);
    const hv3 = report.hosts.find((h: { name: string }) => h.name === 'hv3');
    assert.equal(hv3.unreachable, 'cannot connect to root@127.0.25.13:22: connect ECONNREFUSED 127.0.25.13:22');
    assert.deepEqual(hv3.tasks.map((t: { verdict: string }) => t.verdict), ['unknown', 'unknown', 'unknown', 'unknown']);
    assert.equal(hv3.tasks[1].status, undefined, 'a task never run has no status');
  });

  it("carries a task's metrics, and validates", () => {
    const rec = loadRecord();
    rec.hosts.hv1.tasks[1].result.metrics = { total_s: 4.25, downtime_ms: 65, strategy: 'precopy' };
    const report = JSON.parse(renderJsonReport(rec));
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
    const hv1 = report.hosts.find((h: { name: string }) => h.name === 'hv1');
    assert.deepEqual(hv1.tasks[1].metrics, { total_s: 4.25, downtime_ms: 65, strategy: 'precopy' });
    assert.equal(hv1.tasks[0].metrics, undefined);
    hv1.tasks[1].metrics.bad = { nested: true };
    assert.ok(!validate(report), 'a metric is a number or a string');
  });

  it('carries the --since-last comparison (or null without an earlier check), and validates', () => {
    const prev = loadRecord();
    const cur = { ...loadRecord(), startedAt: '2026-11-24T08:15:00.000Z' };
    cur.hosts.hv1.tasks[2].result = { ...cur.hosts.hv1.tasks[2].result, status: 'changed', changes: [{ path: 'eth1 mtu', from: 1500, to: 9000 }] };
    const report = JSON.parse(renderJsonReport(cur, driftDiff(prev, cur)));
    assert.ok(validate(report), JSON.stringify(validate.errors, null, 2));
    assert.equal(report.sinceLast.previousAt, prev.startedAt);
    assert.deepEqual(report.sinceLast.added.map((i: { host: string; change: { path: string } }) => [i.host, i.change.path]), [['hv1', 'eth1 mtu']]);
    const none = JSON.parse(renderJsonReport(cur, null));
    assert.ok(validate(none), JSON.stringify(validate.errors, null, 2));
    assert.equal(none.sinceLast, null);
    assert.ok(!('sinceLast' in JSON.parse(renderJsonReport(cur))), 'absent without --since-last');
  });

  it('a normal run records what changed, and validates too', () => {
    const rec = loadRecord();
    rec.command = 'run';
    rec.check = false;
    for (const h of Object.values(rec.hosts)) for (const t of h.tasks) t.result.check = false;
    const report = toJsonReport(rec);
    assert.ok(validate(JSON.parse(JSON.stringify(report))), JSON.stringify(validate.errors, null, 2));
    assert.equal(report.hosts[1].verdict, 'changed');
    assert.deepEqual(report.hosts[1].tasks.map((t) => t.verdict), ['in-sync', 'changed', 'changed', 'in-sync']);
    assert.equal(report.summary.changed, 1);
    assert.match(report.summary.line, /^1\/3 hosts changed: hv2 runtime net\.ipv4\.tcp_rmem /);
    const junit = renderJunit(rec);
    assert.ok(!junit.includes('<failure'), 'changes made are not failures');
    assert.match(junit, /<system-out>eth1 mtu: 1500 → 9000 \(disruptive\)<\/system-out>/);
  });

  it('the schema rejects what the renderer must never produce', () => {
    const report = toJsonReport(loadRecord());
    const noReason = structuredClone(report);
    delete noReason.hosts[2].tasks[0].reason;
    assert.equal(validate(noReason), false, 'unknown without a reason');
    const extra = structuredClone(report) as unknown as { hosts: Array<{ tasks: Array<Record<string, unknown>> }> };
    extra.hosts[1].tasks[1].data = { stdout: 'x' };
    assert.equal(validate(extra), false, 'registered data');
    const badVerdict = structuredClone(report) as unknown as { hosts: Array<{ verdict: string }> };
    badVerdict.hosts[0].verdict = 'ok';
    assert.equal(validate(badVerdict), false, 'unknown verdict');
    const badTime = structuredClone(report);
    badTime.startedAt = 'Tue Nov 24 08:00:00 2026';
    assert.equal(validate(badTime), false, 'a time that is not RFC 3339');
  });

  it('never carries registered data or file contents', () => {
    const rec = loadRecord();
    for (const text of [renderJsonReport(rec), renderJunit(rec), renderPrometheus(rec)]) {
      for (const s of SECRETS) assert.ok(!text.includes(s), `${s} leaked`);
    }
  });
});

describe('report: junit', () => {
  const xsd = rootPath('test/fixtures/report/junit-10.xsd');
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'play-junit-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const xmllint = (file: string) => spawnSync('xmllint', ['--noout', '--schema', xsd, file], { encoding: 'utf8' });

  it("validates against Jenkins xunit's junit-10.xsd", () => {
    const file = join(dir, 'report.xml');
    writeFileSync(file, renderJunit(loadRecord()));
    const r = xmllint(file);
    assert.equal(r.status, 0, r.stderr);
  });

  it('the XSD check can fail (a testcase without a name)', () => {
    const file = join(dir, 'bad.xml');
    writeFileSync(file, renderJunit(loadRecord()).replace(/<testcase name="[^"]*"/, '<testcase'));
    assert.notEqual(xmllint(file).status, 0);
  });

  it('escapes names and messages, and still validates', () => {
    const rec = loadRecord();
    rec.hosts.hv2.tasks[2].task = 'MTU <9000> & "jumbo" \u0001';
    rec.hosts.hv2.tasks[2].result.changes = [{ path: "eth1 alias", from: 'a<b>&"c"', to: "it's\nnew" }];
    const file = join(dir, 'escaped.xml');
    writeFileSync(file, renderJunit(rec));
    const r = xmllint(file);
    assert.equal(r.status, 0, r.stderr);
    const out = execFileSync('/usr/bin/python3', ['-c', PARSE, file], { encoding: 'utf8' });
    const suites = JSON.parse(out);
    assert.equal(suites[1].cases[2].name, 'Hypervisor tuning: MTU <9000> & "jumbo" \uFFFD');
    assert.equal(suites[1].cases[2].results[0].message, '1 difference: eth1 alias: \'a<b>&"c"\' → \'it\'s\nnew\'');
  });

  // python3-junitparser (Debian): a JUnit consumer other than our own code.
  const PARSE = `
import json, sys
from junitparser import JUnitXml
out = []
for s in JUnitXml.fromfile(sys.argv[1]):
    out.append({'name': s.name, 'tests': s.tests, 'failures': s.failures, 'errors': s.errors, 'skipped': s.skipped,
                'cases': [{'name': c.name, 'classname': c.classname,
                           'results': [{'kind': type(r).__name__, 'type': r.type, 'message': r.message, 'text': r.text} for r in c.result]} for c in s]})
print(json.dumps(out))
`;

  it('loads in junitparser: a suite per host, drift as failures, unreachable as an error', () => {
    const file = join(dir, 'report.xml');
    writeFileSync(file, renderJunit(loadRecord()));
    const suites = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PARSE, file], { encoding: 'utf8' }));
    assert.deepEqual(
      suites.map((s: Record<string, unknown>) => [s.name, s.tests, s.failures, s.errors, s.skipped]),
      [
        ['hv1', 4, 0, 0, 0],
        ['hv2', 4, 2, 0, 0],
        ['hv3', 4, 0, 1, 3],
      ],
    );
    const drift = suites[1].cases[1];
    assert.equal(drift.classname, 'hv2');
    assert.deepEqual(drift.results.map((r: { kind: string; type: string }) => [r.kind, r.type]), [['Failure', 'drift']]);
    assert.equal(
      drift.results[0].text,
      "runtime net.ipv4.tcp_rmem: '4096\t131072\t6291456' → '4096 87380 16777216'\nfile /etc/sysctl.d/90-play.conf net.ipv4.tcp_rmem: missing line",
    );
    const unreachable = suites[2].cases[0];
    assert.deepEqual([unreachable.results[0].kind, unreachable.results[0].type], ['Error', 'unreachable']);
    assert.match(suites[2].cases[1].results[0].message, /^not run: host unreachable: /);
  });
});

describe('report: prometheus', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'play-prom-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  const promtool = (text: string) => spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });

  it('passes promtool check metrics', () => {
    const r = promtool(renderPrometheus(loadRecord()));
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });

  it('promtool can fail (a counter without _total)', () => {
    const r = promtool('# HELP play_x x\n# TYPE play_x counter\nplay_x 1\n');
    assert.notEqual(r.status, 0);
  });

  it('has the gauges per host and task', () => {
    const text = renderPrometheus(loadRecord());
    const pb = 'playbook="/work/main/playbooks/hv-tuning.yml"';
    for (const line of [
      `play_drift_changes{host="hv2",${pb}} 3`,
      `play_drift_changes{host="hv1",${pb}} 0`,
      `play_host_unreachable{host="hv3",${pb}} 1`,
      `play_task_in_sync{host="hv2",play="Hypervisor tuning",task="Jumbo frames on the migration network",${pb}} 0`,
      `play_task_in_sync{host="hv1",play="Hypervisor tuning",task="Jumbo frames on the migration network",${pb}} 1`,
      `play_last_check_timestamp_seconds{${pb}} ${Date.parse('2026-11-24T08:00:02.350Z') / 1000}`,
      `play_check_duration_seconds{${pb}} 2.35`,
    ]) {
      assert.ok(text.split('\n').includes(line), `missing: ${line}`);
    }
    assert.match(text, /^# HELP play_drift_changes .+\n# TYPE play_drift_changes gauge$/m);
  });

  it("carries a task's metrics as play_<module>_<key> gauges in base units (strings as _info), and passes promtool", () => {
    const rec = loadRecord();
    const ev = rec.hosts.hv1.tasks[1];
    ev.module = 'virsh_migrate';
    ev.result.metrics = { total_s: 4.25, downtime_ms: 65, strategy: 'raised-downtime', 'data-mib': 180 };
    const text = renderPrometheus(rec);
    const r = promtool(text);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const labels = `host="hv1",play="${ev.play}",task="${ev.task}",playbook="${rec.playbook}"`;
    for (const line of [
      `play_virsh_migrate_total_seconds{${labels}} 4.25`,
      `play_virsh_migrate_downtime_seconds{${labels}} 0.065`,
      `play_virsh_migrate_data_bytes{${labels}} ${180 * 1048576}`,
      `play_virsh_migrate_strategy_info{${labels},value="raised-downtime"} 1`,
    ]) assert.ok(text.split('\n').includes(line), `missing: ${line}\n${text}`);
  });

  it('escapes label values and keeps repeated task names apart', () => {
    const rec = loadRecord();
    rec.playbook = '/srv/pb "x"\\y\nz.yml';
    rec.hosts.hv1.tasks[2].task = rec.hosts.hv1.tasks[1].task;
    const text = renderPrometheus(rec);
    const r = promtool(text);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.ok(text.includes('playbook="/srv/pb \\"x\\"\\\\y\\nz.yml"'));
    assert.ok(text.includes('task="TCP buffers for migration (2)"'));
    // node_exporter rejects a file with the same series twice.
    const series = text.split('\n').filter((l) => l && !l.startsWith('#')).map((l) => l.slice(0, l.lastIndexOf(' ')));
    assert.equal(new Set(series).size, series.length);
  });
});

describe('report: specs and writing', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'play-reports-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('parses FORMAT=PATH', () => {
    assert.deepEqual(parseReportSpec('json=out/a=b.json'), { format: 'json', path: 'out/a=b.json' });
    assert.deepEqual(parseReportSpec('prometheus=/var/lib/node_exporter/play.prom'), { format: 'prometheus', path: '/var/lib/node_exporter/play.prom' });
  });

  for (const [spec, msg] of [
    ['report.json', /--report: missing = in 'report.json'/],
    ['xml=out.xml', /unknown report format 'xml'.*json, junit, prometheus/],
    ['junit=', /missing path in 'junit='/],
    ['=x.json', /missing format/],
  ] as const) {
    it(`rejects '${spec}' clearly`, () => {
      assert.throws(() => parseReportSpec(spec), (e: unknown) => e instanceof ValidationError && msg.test(e.message));
    });
  }

  it('reports every bad spec at once, and two reports on one file', () => {
    assert.throws(
      () => parseReportSpecs(['xml=a', 'json=r.json', 'junit=./r.json', 'junit']),
      (e: unknown) => e instanceof ValidationError && e.problems.length === 3 && /'junit=.\/r.json' writes the same file as 'json=r.json'/.test(e.message),
    );
  });

  it('writes each report atomically, creating directories, leaving no temp files', () => {
    const rec = loadRecord();
    const specs = parseReportSpecs([`json=${dir}/out/r.json`, `junit=${dir}/out/r.xml`, `prometheus=${dir}/prom/play.prom`]);
    writeFileSync(join(dir, 'placeholder'), '');
    mkdirSync(join(dir, 'out'));
    writeFileSync(join(dir, 'out/r.json'), 'old content');
    const written = writeReports(rec, specs);
    assert.deepEqual(written, specs.map((s) => s.path));
    assert.equal(readFileSync(join(dir, 'out/r.json'), 'utf8'), renderJsonReport(rec));
    assert.equal(readFileSync(join(dir, 'out/r.xml'), 'utf8'), renderJunit(rec));
    assert.equal(readFileSync(join(dir, 'prom/play.prom'), 'utf8'), renderPrometheus(rec));
    assert.deepEqual(readdirSync(join(dir, 'out')).sort(), ['r.json', 'r.xml']);
  });

  it('a path that cannot be written is a clear PlayError', () => {
    mkdirSync(join(dir, 'isdir.json'), { recursive: true });
    assert.throws(
      () => writeReports(loadRecord(), [{ format: 'json', path: join(dir, 'isdir.json') }]),
      (e: unknown) => e instanceof PlayError && e.message.startsWith(`cannot write ${join(dir, 'isdir.json')}: EISDIR`),
    );
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), []);
  });
});
