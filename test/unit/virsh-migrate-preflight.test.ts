// virsh_migrate preflight's firewall probe: the migration address reaches bash only as "$1" (never
// inside its script text), is validated as an IP address or host name, and the probe itself runs
// here against a closed local port (refused at once, as a port nothing listens on yet).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { destScript, estimate, resolveTls, validAddress } from '../../modules/virsh_migrate/preflight.js';
import { parseConf } from '../../modules/qemu_conf/parse.js';
import { readFileSync } from 'node:fs';
import { rootPath } from '../../engine/paths.js';
import { parseDomInfo } from '../../modules/virsh_migrate/parse.js';
import type { MigrateParams } from '../../modules/virsh_migrate/params.js';
import { MIGRATE_PARAMS, tlsSetting } from '../../modules/virsh_migrate/params.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';

describe('virsh_migrate preflight: the migration port probe', () => {
  it('accepts IPv4, IPv6 and host names; refuses anything a shell could read as code', () => {
    for (const a of ['198.18.0.1', 'fd00::1', '::1', 'hv2', 'hv2.lab.example']) assert.ok(validAddress(a), a);
    for (const a of ['$(reboot)', 'a b', "x';id;'", '-oProxyCommand=x', 'hv2/../x', '']) assert.ok(!validAddress(a), a);
  });

  it('passes the address as "$1" and probes it: a closed local port is refused at once', () => {
    const script = destScript('g1', { name: 'hv2', uri: 'qemu+tls://x/system', address: '127.0.0.1' }, 1, 'kvm', false, undefined);
    const line = script.split('\n').find((l) => l.includes('/dev/tcp'))!;
    const probe = /timeout 3 bash -c '[^']*' _ '?127\.0\.0\.1'?/.exec(line)?.[0];
    assert.ok(probe, line);
    assert.ok(!/\/dev\/tcp\/127/.test(line), 'the address is not in the script text');
    const out = (() => {
      try {
        return execFileSync('sh', ['-c', `${probe} 2>&1`], { encoding: 'utf8' });
      } catch (e) {
        return String((e as { stdout?: string }).stdout);
      }
    })();
    assert.match(out, /Connection refused/);
    const bad = destScript('g1', { name: 'hv2', uri: 'qemu+tls://x/system', address: '$(reboot)' }, 1, 'kvm', false, undefined);
    assert.ok(!bad.includes('/dev/tcp') && !bad.includes('reboot'), 'an invalid address is never probed');
  });
});

describe('virsh_migrate parameters: max_downtime_ms is bounded', () => {
  it('refuses a downtime limit over 60 s with a clear message, accepts 60000', () => {
    const check = (v: number) => {
      const problems: SchemaProblem[] = [];
      validateParams(MIGRATE_PARAMS, { domain: 'g1', to: 'hv2', max_downtime_ms: v }, problems);
      return problems.map((x) => `${x.path.join('.')}: ${x.message}`);
    };
    assert.deepEqual(check(60000), []);
    assert.equal(check(600000).length, 1);
    assert.match(check(600000)[0], /^max_downtime_ms: .*must be between 1 and 60000 ms: a longer pause is no longer a live migration/);
    assert.equal(check(0).length, 1);
  });
});

describe('virsh_migrate preflight estimate: the dirty rate is in MiB/s', () => {
  it("reads QEMU's megabytes_per_second as MiB/s (pages × page size >> 20)", () => {
    const info = parseDomInfo(readFileSync(rootPath('test', 'fixtures', 'virsh_migrate', 'dominfo-lab.txt'), 'utf8'));
    const e = estimate(info, { bandwidth_mib: 64 } as MigrateParams, '', 'dirtyrate.calc_status=2\ndirtyrate.megabytes_per_second=16\n');
    const bytes = (info.maxMemoryKib || info.usedMemoryKib) * 1024;
    assert.equal(e.seconds, bytes / ((64 - 16) * 1048576));
    assert.match(e.text, /at ≤ 64 MiB\/s \(bandwidth_mib\) and 16 MiB\/s measured dirty rate/);
  });
});

describe('virsh_migrate tls: auto follows the hosts', () => {
  const conf = (text: string) => parseConf(text);
  const forced = conf('# tuned\nmigrate_tls_force = 1\n');
  const plain = conf('#migrate_tls_force = 1\nmigrate_tls_force = 0\n');
  it('auto: TLS when either host forces it, plain otherwise; true and false are kept', () => {
    assert.equal(resolveTls('auto', { src: plain, dst: forced }), true);
    assert.equal(resolveTls('auto', { src: forced, dst: conf('') }), true);
    assert.equal(resolveTls('auto', { src: plain, dst: conf('') }), false);
    assert.equal(resolveTls(false, { src: forced, dst: forced }), false);
    assert.equal(resolveTls(true, { src: plain, dst: plain }), true);
  });
  it('the parameter takes true/false words and auto, nothing else, naming the field', () => {
    for (const [v, want] of [['auto', 'auto'], [true, true], ['yes', true], ['false', false], [0, false]] as const) assert.equal(tlsSetting(v), want);
    const problems: SchemaProblem[] = [];
    validateParams(MIGRATE_PARAMS, { domain: 'g1', to: 'hv2', tls: 'maybe' }, problems);
    assert.deepEqual(problems.map((p) => `${p.path.join('.')}: ${p.message}`), ['tls: must be true, false or auto, got "maybe"']);
  });
});
