// The reboot module's pure parts, its launch script run for real by /bin/sh on this machine (with
// harmless commands: never a reboot), its parameter checks, and the pool's reconnect.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { defaultRebootCommand, launchScript, parseBootId, parseLaunch, retryDelayS } from '../../modules/reboot/parse.js';
import { rebootModule } from '../../modules/reboot/index.js';
import { validateParams, type SchemaProblem } from '../../engine/module/schema.js';
import { ConnectionPool } from '../../engine/connection/pool.js';
import { asText } from './problems.js';

const sh = (script: string) => execFileSync('sh', ['-c', script], { encoding: 'utf8' });

describe('reboot: launching the reboot command', () => {
  it('reports the exit status and output of a command that ends at once', () => {
    assert.deepEqual(parseLaunch(sh(launchScript('echo no power >&2; exit 3'))), { ended: true, code: 3, output: 'no power' });
    assert.deepEqual(parseLaunch(sh(launchScript('true'))), { ended: true, code: 0, output: '' });
  });

  it('reads "still running" and refuses output it does not know', () => {
    assert.deepEqual(parseLaunch('play-reboot-running\n'), { ended: false });
    assert.equal(parseLaunch(''), undefined);
    assert.equal(parseLaunch('play-reboot-rc=x\n'), undefined);
  });

  it('quotes the message into the default command and never forces a reboot', () => {
    const cmd = defaultRebootCommand("it's time");
    assert.match(cmd, /^if command -v shutdown >\/dev\/null; then shutdown -r now 'it'\\''s time'; elif \[ -d \/run\/systemd\/system \]/);
    assert.doesNotMatch(cmd, /-f\b|--force/);
    // The shell parses it (sh -n: syntax only, nothing runs).
    execFileSync('sh', ['-n', '-c', cmd]);
  });

  it('takes the boot id as printed, backs off 1 … 5 s between attempts', () => {
    assert.equal(parseBootId('c9c85e8d-7a2c-4f13-b8d9-3d57b466f17d\n'), 'c9c85e8d-7a2c-4f13-b8d9-3d57b466f17d');
    assert.equal(parseBootId(' \n'), undefined);
    assert.deepEqual([1, 2, 3, 4, 5, 6, 9].map(retryDelayS), [1, 2, 3, 4, 5, 5, 5]);
  });
});

describe('reboot: parameters', () => {
  const check = (raw: Record<string, unknown>) => {
    const problems: SchemaProblem[] = [];
    const p = validateParams(rebootModule.params, raw, problems);
    return [...problems.map((x) => `${x.path.join('.')}: ${x.message}`), ...asText(rebootModule.validate!(p as never))];
  };

  it("has Ansible's defaults", () => {
    const p = validateParams(rebootModule.params, {}, []);
    assert.deepEqual(p, { reboot_timeout: 600, pre_reboot_delay: 0, post_reboot_delay: 0, test_command: 'whoami', msg: 'Reboot initiated by play', boot_time_command: 'cat /proc/sys/kernel/random/boot_id' });
  });

  it('refuses impossible timings and empty commands, naming the field', () => {
    assert.deepEqual(check({ reboot_timeout: 0, pre_reboot_delay: -1, connect_timeout: 0, test_command: ' ' }), [
      'reboot_timeout: must be at least 1 second',
      'pre_reboot_delay: must not be negative',
      'connect_timeout: must be at least 1 second',
      'test_command: must not be empty',
    ]);
  });
});

describe('ConnectionPool.reconnect', () => {
  it('replaces the host connection: later gets return the new one, other hosts keep theirs', async () => {
    const pool = new ConnectionPool();
    const vars = { ansible_connection: 'local' };
    try {
      const first = await pool.get('a', vars);
      const other = await pool.get('b', vars);
      const second = await pool.reconnect('a', vars, { connectTimeoutMs: 1000 });
      assert.notEqual(second, first);
      assert.equal(await pool.get('a', vars), second);
      assert.equal(await pool.get('b', vars), other);
      assert.equal(pool.connectCount, 3);
      assert.equal((await second.run('echo hi')).stdout, 'hi\n');
    } finally {
      await pool.closeAll();
    }
  });
});
