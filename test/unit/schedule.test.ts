import { strict as assert } from 'node:assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlayError } from '../../engine/errors.js';
import { installSchedule, parseEvery, parseReportSpec, renderSchedule, type ScheduleOptions } from '../../engine/report/index.js';
import { systemdQuote } from '../../engine/report/unit-quote.js';

const HAS_SYSTEMD_ANALYZE = spawnSync('systemd-analyze', ['--version']).status === 0;

const base = (over: Partial<ScheduleOptions> = {}): ScheduleOptions => ({
  playbook: "plays/it's my \"play\" 100%.yml",
  inventory: ['inventories/prod hosts.yml'],
  every: '15m',
  reports: [parseReportSpec('prometheus=/var/lib/node_exporter/textfile_collector/play.prom'), parseReportSpec('json=reports/last check.json')],
  stateDir: '/var/lib/play/state',
  workingDir: '/srv/play',
  playCommand: '/usr/local/bin/play',
  ...over,
});

const line = (text: string, key: string) => text.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);

describe('schedule: intervals', () => {
  it('parses s/m/h/d', () => {
    assert.deepEqual(['90s', '15m', '15min', '1h', '1d', ' 2 h '].map(parseEvery), [90, 900, 900, 3600, 86400, 7200]);
  });
  for (const bad of ['15', 'fast', '1w', '30s', '-5m', '1.5h']) {
    it(`rejects '${bad}'`, () => assert.throws(() => parseEvery(bad), PlayError));
  }
});

describe('schedule: rendering', () => {
  it('a oneshot service running play check under flock, with every value quoted', () => {
    const s = renderSchedule(base({ user: 'play' }));
    assert.match(s.name, /^play-check-it_s_my_play_100--prod_hosts-[0-9a-f]{16}$/);
    assert.equal(s.lockPath, `/run/lock/${s.name}.lock`);
    assert.equal(line(s.service, 'Type'), 'oneshot');
    assert.equal(line(s.service, 'User'), 'play');
    assert.equal(line(s.service, 'WorkingDirectory'), '/srv/play');
    assert.equal(line(s.service, 'SuccessExitStatus'), '2 75');
    assert.equal(
      line(s.service, 'ExecStart'),
      `/usr/bin/flock -n -E 75 ${s.lockPath} /usr/local/bin/play check "/srv/play/plays/it's my \\"play\\" 100%%.yml" ` +
        `-i "/srv/play/inventories/prod hosts.yml" --report prometheus=/var/lib/node_exporter/textfile_collector/play.prom ` +
        `--report "json=/srv/play/reports/last check.json" --state-dir /var/lib/play/state`,
    );
    assert.deepEqual(s.argv.slice(5, 9), ['/usr/local/bin/play', 'check', "/srv/play/plays/it's my \"play\" 100%.yml", '-i']);
  });

  it('a timer on the wall clock when the interval divides an hour or a day', () => {
    const cases: Array<[string, string, string]> = [
      ['15m', '*-*-* *:00/15:00', '90s'],
      ['1h', '*-*-* 00/1:00:00', '5min'],
      ['6h', '*-*-* 00/6:00:00', '5min'],
      ['1d', '*-*-* 00:00:00', '5min'],
    ];
    for (const [every, cal, delay] of cases) {
      const t = renderSchedule(base({ every })).timer;
      assert.equal(line(t, 'OnCalendar'), cal, every);
      assert.equal(line(t, 'RandomizedDelaySec'), delay, every);
      assert.equal(line(t, 'Persistent'), 'true');
      assert.equal(line(t, 'OnUnitActiveSec'), undefined);
      assert.match(t, /\[Install\]\nWantedBy=timers\.target/);
    }
  });

  it('a monotonic timer otherwise (7m), and no cron line', () => {
    const s = renderSchedule(base({ every: '7m' }));
    assert.equal(line(s.timer, 'OnBootSec'), '7min');
    assert.equal(line(s.timer, 'OnUnitActiveSec'), '7min');
    assert.equal(line(s.timer, 'OnCalendar'), undefined);
    assert.equal(line(s.timer, 'Unit'), s.serviceName);
    assert.ok(s.cron.split('\n').every((l) => l === '' || l.startsWith('#')));
    assert.match(s.cron, /cron cannot express every 7min/);
  });

  it('cron fields: minutes, hours and days, with a stable spread', () => {
    const fields = (every: string) => renderSchedule(base({ every })).cron.split('\n')[1].split(' ').slice(0, 5).join(' ');
    assert.equal(fields('1m'), '* * * * *');
    assert.equal(fields('15m'), '*/15 * * * *');
    assert.match(fields('1h'), /^([0-5]?\d) \* \* \* \*$/);
    assert.match(fields('6h'), /^([0-5]?\d) \*\/6 \* \* \*$/);
    assert.match(fields('1d'), /^([0-5]?\d) (1?\d|2[0-3]) \* \* \*$/);
    assert.equal(fields('1h'), fields('1h'));
    assert.match(renderSchedule(base({ every: '1h', user: 'play' })).cron.split('\n')[1], /^\d+ \* \* \* \* play cd /);
  });

  it('refuses what would not run as meant', () => {
    assert.throws(() => renderSchedule(base({ playCommand: 'play' })), /absolute path/);
    assert.throws(() => renderSchedule(base({ workingDir: 'srv' })), /working directory must be absolute/);
    assert.throws(() => renderSchedule(base({ user: 'root; rm' })), /not a valid user name/);
    assert.throws(() => renderSchedule(base({ inventory: [] })), /at least one inventory/);
    assert.throws(() => renderSchedule(base({ playbook: 'a\nb.yml' })), /control character/);
  });
});

describe('schedule: the real parsers read the values back', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'play-schedule-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('sh runs the cron command with exactly the argv (cron unescapes \\%)', () => {
    const wd = join(dir, "work dir's");
    mkdirSync(wd);
    // Stands in for flock: prints the arguments it got, NUL-separated.
    const printer = join(dir, 'print-args');
    writeFileSync(printer, '#!/bin/sh\nprintf "%s\\0" "$@"\n');
    chmodSync(printer, 0o755);
    const s = renderSchedule(base({ workingDir: wd, flockPath: printer, reports: [parseReportSpec('json=out $HOME `id` 50%.json')] }));
    const cronLine = s.cron.split('\n')[1];
    const command = cronLine.split(' ').slice(6).join(' ');
    assert.ok(!/[^\\]%/.test(command), 'a bare % would be a newline for cron');
    const out = execFileSync('/bin/sh', ['-c', command.replace(/\\%/g, '%')], { encoding: 'utf8' });
    assert.deepEqual(out.split('\0').slice(0, -1), s.argv.slice(1));
    assert.ok(s.argv.includes(`json=${wd}/out $HOME \`id\` 50%.json`));
  });

  (HAS_SYSTEMD_ANALYZE ? it : it.skip)('systemd-analyze verify accepts the installed units', () => {
    const units = join(dir, 'units');
    mkdirSync(units);
    for (const every of ['15m', '7m']) {
      const s = renderSchedule(base({ every, workingDir: dir, user: 'root' }));
      const inst = installSchedule(s, units);
      assert.equal(readFileSync(inst.servicePath, 'utf8'), s.service);
      assert.match(inst.enable, new RegExp(`systemctl enable --now ${s.timerName}$`));
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', inst.timerPath, inst.servicePath], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
  });

  (HAS_SYSTEMD_ANALYZE ? it : it.skip)("systemd's own parser unquotes each word back (quotes, backslash, %, ;)", () => {
    // systemd names the executable it parsed when it cannot run it: quote a word there and read it back.
    for (const word of ["it's my play.yml", 'a "b" c', 'back\\slash', '100%', 'semi;colon', 'plain']) {
      const path = `/nonexistent-play-test/${word}`;
      const unit = join(dir, 'quote.service');
      writeFileSync(unit, `[Service]\nType=oneshot\nExecStart=${systemdQuote(path)}\n`);
      const r = spawnSync('systemd-analyze', ['verify', '--man=no', unit], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      const said = /(?:Executable name contains special characters: |Command )(\/nonexistent-play-test\/.*?)(?: is not executable|$)/m.exec(r.stderr);
      assert.equal(said?.[1], path, r.stderr);
    }
    // $ is expanded when the service starts, not when the file is parsed: `$$` is its escape.
    assert.equal(systemdQuote('$HOME'), '"$$HOME"');
  });

  it('install refuses a directory that is not there', () => {
    assert.throws(() => installSchedule(renderSchedule(base()), join(dir, 'missing')), /does not exist/);
  });
});
