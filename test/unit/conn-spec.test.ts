// Inventory variables (+ ~/.ssh/config) → how to connect; every user mistake is a clear PlayError.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PlayError } from '../../engine/errors.js';
import { connectionSpecFor, parseJumpList, parseSshArgs, splitShellWords } from '../../engine/connection/spec.js';
import { parseSshConfig } from '../../engine/connection/ssh-config.js';
import { rootPath } from '../../engine/paths.js';

const env = {
  home: '/home/op',
  sshConfig: parseSshConfig(readFileSync(rootPath('test', 'fixtures', 'ssh', 'ssh_config'), 'utf8')),
  agent: '',
  hostKeyCheckingEnv: '',
};
const spec = (name: string, vars: Record<string, unknown>) => connectionSpecFor(name, vars, env);

describe('connection spec', () => {
  it('reads the Ansible connection variables of the lab inventory', () => {
    const s = spec('hv1', {
      ansible_host: '127.0.10.11', ansible_port: 22, ansible_user: 'root', ansible_ssh_private_key_file: '/lab/id_ed25519',
      play_known_hosts_file: '/lab/known_hosts',
      ansible_ssh_common_args: "-o UserKnownHostsFile=/other -o StrictHostKeyChecking=yes",
    });
    assert.equal(s.kind, 'ssh');
    // Like ssh -i: the inventory key first, then IdentityFile lines of ~/.ssh/config (Host *).
    assert.deepEqual(s.target, { host: '127.0.10.11', port: 22, user: 'root', keyFiles: ['/lab/id_ed25519', '/home/op/.ssh/id_default'] });
    assert.equal(s.knownHostsFiles[0], '/lab/known_hosts', 'our variable wins over -o UserKnownHostsFile');
    assert.equal(s.hostKeyChecking, 'strict');
    assert.equal(s.connectTimeoutMs, 7000, 'ConnectTimeout from ~/.ssh/config Host *');
    assert.deepEqual(s.jumps, []);
    assert.deepEqual(s.become, { enabled: false, user: 'root' });
  });

  it('fills what the inventory leaves out from ~/.ssh/config, inventory first', () => {
    const s = spec('web', { ansible_host: 'hv-01' });
    assert.deepEqual(s.target, { host: 'hv-01', port: 2222, user: 'ops', keyFiles: ['/home/op/.ssh/fleet_hv-01', '/home/op/.ssh/id_default'] });
    assert.deepEqual(s.jumps, [{ host: '192.0.2.10', port: 2200, user: 'jump', keyFiles: ['/home/op/.ssh/bastion_ed25519', '/home/op/.ssh/id_default'] }]);
    const t = spec('web', { ansible_host: 'hv-01', ansible_user: 'me', ansible_port: '2022' });
    assert.equal(t.target.user, 'me');
    assert.equal(t.target.port, 2022);
    const legacy = spec('old', { ansible_host: 'hv-legacy' });
    assert.equal(legacy.target.host, '198.51.100.7');
    assert.equal(legacy.hostKeyChecking, 'accept-new');
    assert.equal(legacy.knownHostsFiles[0], '/home/op/.ssh/legacy_known_hosts');
  });

  it('reads ProxyJump from -J, -o ProxyJump and play_proxy_jump', () => {
    assert.deepEqual(spec('a', { ansible_ssh_common_args: '-J admin@10.0.0.1:2022' }).jumps.map((j) => [j.user, j.host, j.port]), [['admin', '10.0.0.1', 2022]]);
    assert.deepEqual(spec('a', { ansible_ssh_extra_args: '-o ProxyJump=j1,j2:23' }).jumps.map((j) => [j.host, j.port]), [['j1', 22], ['j2', 23]]);
    assert.equal(spec('a', { play_proxy_jump: 'bastion' }).jumps[0].host, '192.0.2.10');
    assert.deepEqual(spec('a', { ansible_host: 'hv-01', play_proxy_jump: 'none' }).jumps, []);
    assert.deepEqual(parseJumpList('ssh://u@[::1]:2', 'x'), [{ user: 'u', host: '::1', port: 2 }]);
  });

  it('maps host key checking settings', () => {
    assert.equal(spec('a', { host_key_checking: false }).hostKeyChecking, 'off');
    assert.equal(spec('a', { host_key_checking: 'accept-new' }).hostKeyChecking, 'accept-new');
    assert.equal(spec('a', { ansible_ssh_common_args: '-oStrictHostKeyChecking=accept-new' }).hostKeyChecking, 'accept-new');
    assert.equal(spec('a', { ansible_ssh_common_args: '-o StrictHostKeyChecking=no' }).hostKeyChecking, 'off');
    assert.equal(connectionSpecFor('a', {}, { ...env, hostKeyCheckingEnv: 'False' }).hostKeyChecking, 'off');
    assert.equal(spec('a', {}).hostKeyChecking, 'strict', '~/.ssh/config Host * says yes');
  });

  it('reads become settings; the password is kept for stdin', () => {
    const s = spec('a', { ansible_become: 'yes', ansible_become_user: 'postgres', ansible_become_pass: 's3cret', ansible_become_flags: '-H' });
    assert.deepEqual(s.become, { enabled: true, user: 'postgres', password: 's3cret', flags: '-H' });
  });

  it('treats localhost as local unless told otherwise', () => {
    assert.equal(spec('localhost', {}).kind, 'local');
    assert.equal(spec('localhost', { ansible_connection: 'ssh' }).kind, 'ssh');
    assert.equal(spec('box', { ansible_connection: 'local' }).kind, 'local');
    assert.equal(spec('box', { ansible_connection: 'smart' }).kind, 'ssh');
  });

  it('rejects what it cannot do with one clear message', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ ansible_become_method: 'su' }, /^host h: ansible_become_method 'su' is not supported: only sudo$/],
      [{ ansible_connection: 'docker' }, /ansible_connection 'docker' is not supported/],
      [{ ansible_port: 'ssh' }, /ansible_port must be a port number/],
      [{ ansible_become: 'maybe' }, /ansible_become must be a boolean/],
      [{ host_key_checking: 'sometimes' }, /host_key_checking must be true, false or accept-new/],
      [{ ansible_timeout: '-1' }, /ansible_timeout must be a positive number/],
      [{ ansible_ssh_common_args: '-o ProxyCommand="ssh -W %h:%p b"' }, /ProxyCommand is not supported.*ProxyJump/],
      [{ ansible_ssh_common_args: "-o 'UserKnownHostsFile=/x" }, /unterminated '/],
    ];
    for (const [vars, re] of cases) {
      assert.throws(() => spec('h', vars), (e: Error) => e instanceof PlayError && re.test(e.message), JSON.stringify(vars));
    }
  });

  it('splits ssh arguments like a shell', () => {
    assert.deepEqual(splitShellWords(`-o 'A=b c' -o "D=\\"e\\"" f\\ g`), ['-o', 'A=b c', '-o', 'D="e"', 'f g']);
    const m = parseSshArgs('-C -o ControlMaster=auto -o ControlPersist=60s -i /k -p 2200 -l bob -o "UserKnownHostsFile /kh"', 'h');
    assert.equal(m.get('identityfile'), '/k');
    assert.equal(m.get('port'), '2200');
    assert.equal(m.get('user'), 'bob');
    assert.equal(m.get('userknownhostsfile'), '/kh');
  });
});
