// ~/.ssh/config lookups against OpenSSH's own answer (`ssh -G`, captured in test/fixtures/ssh).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandPath, hostMatches, lookupSshConfig, parseSshConfig } from '../../engine/connection/ssh-config.js';
import { rootPath } from '../../engine/paths.js';

const FIX = rootPath('test', 'fixtures', 'ssh');

function sshG(host: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of readFileSync(join(FIX, `ssh-G.${host}.txt`), 'utf8').trim().split('\n')) {
    const i = line.indexOf(' ');
    const k = line.slice(0, i);
    m.set(k, [...(m.get(k) ?? []), line.slice(i + 1)]);
  }
  return m;
}

describe('ssh config', () => {
  const blocks = parseSshConfig(readFileSync(join(FIX, 'ssh_config'), 'utf8'));

  for (const host of ['bastion', 'hv-01', 'hv-legacy', 'hv-100', 'other.example.net']) {
    it(`resolves ${host} like ssh -G`, () => {
      const g = sshG(host);
      const v = lookupSshConfig(blocks, host);
      assert.equal(v.hostname ?? host, g.get('hostname')![0]);
      assert.equal(v.user, g.get('user')![0]);
      assert.equal(v.port ?? 22, Number(g.get('port')![0]));
      assert.deepEqual(v.identityFiles, g.get('identityfile'));
      assert.equal(v.proxyJump, g.get('proxyjump')?.[0]);
      assert.equal(v.connectTimeout, Number(g.get('connecttimeout')![0]));
      // ssh -G prints `yes` as true.
      assert.equal(v.strictHostKeyChecking === 'yes' ? 'true' : v.strictHostKeyChecking, g.get('stricthostkeychecking')![0]);
      if (v.userKnownHostsFiles) {
        const home = '/root';
        assert.deepEqual(v.userKnownHostsFiles.map((f) => expandPath(f, { host, port: 22, user: 'u', home })), g.get('userknownhostsfile')![0].split(' '));
      }
    });
  }

  it('skips Match blocks and reads Keyword=value forms', () => {
    assert.equal(lookupSshConfig(blocks, 'x').user, 'fallback');
    assert.equal(lookupSshConfig(parseSshConfig('Port=2022\nUser = a\n'), 'h').port, 2022);
  });

  it('matches patterns with wildcards and negation', () => {
    assert.ok(hostMatches(['hv-*'], 'hv-1'));
    assert.ok(!hostMatches(['hv-*', '!hv-1'], 'hv-1'));
    assert.ok(hostMatches(['hv-??'], 'hv-01'));
    assert.ok(!hostMatches(['hv-??'], 'hv-100'));
    assert.ok(!hostMatches(['!hv-1'], 'other'), 'a negation alone matches nothing');
  });

  it('expands ~ and tokens in paths', () => {
    assert.equal(expandPath('~/.ssh/fleet_%h_%p_%r%%', { host: 'hv-01', port: 22, user: 'ops', home: '/home/ops' }), '/home/ops/.ssh/fleet_hv-01_22_ops%');
  });
});
