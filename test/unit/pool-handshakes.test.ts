// The pool's limit on SSH handshakes under way at once, and the connect timeout as silence:
// against a server that accepts TCP and never says a word, every host is unreachable after its
// own timeout, counted from when its handshake starts (not from when it was queued).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConnectionPool } from '../../engine/connection/pool.js';
import { ConnectionError } from '../../engine/errors.js';
import ssh2 from 'ssh2';

describe('ConnectionPool: handshakes at once', () => {
  let server: Server;
  let port: number;
  let dir: string;
  const sockets: Socket[] = [];
  const accepted: number[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pool-hs-'));
    writeFileSync(join(dir, 'known_hosts'), '');
    writeFileSync(join(dir, 'id'), ssh2.utils.generateKeyPairSync('ed25519').private, { mode: 0o600 });
    server = createServer((s) => {
      sockets.push(s);
      accepted.push(Date.now());
      s.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as { port: number }).port;
  });

  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const vars = (timeoutS: number) => ({ ansible_host: '127.0.0.1', ansible_port: port, ansible_user: 'u', ansible_timeout: timeoutS, play_known_hosts_file: join(dir, 'known_hosts'), ansible_ssh_private_key_file: join(dir, 'id') });

  it('waits its turn, then times out on the silent server after its own timeout', async function () {
    this.timeout(20000);
    const pool = new ConnectionPool({ maxHandshakes: 2 });
    const t0 = Date.now();
    const results = await Promise.allSettled(['a', 'b', 'c', 'd', 'e'].map((h) => pool.get(h, vars(0.5))));
    const took = Date.now() - t0;
    await pool.closeAll();
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      const e = (r as PromiseRejectedResult).reason as Error;
      assert.ok(e instanceof ConnectionError, e.message);
      assert.match(e.message, /timed out after 0\.5 s connecting to 127\.0\.0\.1:\d+/);
    }
    // Connections come in rounds: 2 at once, the next 2 when those gave up, then the last.
    assert.equal(accepted.length, 5);
    const at = accepted.map((t) => t - accepted[0]);
    assert.ok(at[2] >= 450 && at[3] >= 450 && at[4] - at[2] >= 450, `accepted at ${at.join(', ')} ms`);
    // Three rounds of 0.5 s (2 + 2 + 1): a queued host's timeout starts with its handshake.
    assert.ok(took >= 1400 && took < 6000, `${took} ms`);
  });
});
