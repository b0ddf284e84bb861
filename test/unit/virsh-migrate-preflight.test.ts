// virsh_migrate preflight's firewall probe: the migration address reaches bash only as "$1" (never
// inside its script text), is validated as an IP address or host name, and the probe itself runs
// here against a closed local port (refused at once, as a port nothing listens on yet).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { destScript, validAddress } from '../../modules/virsh_migrate/preflight.js';

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
