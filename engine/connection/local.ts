// `connection: local`: the same Host contract, commands run by /bin/sh on this machine.
import { spawn } from 'node:child_process';
import { BaseHost, type LiveOptions, type RawResult } from './base-host.js';

export class LocalHost extends BaseHost {
  protected execRaw(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, live?: LiveOptions): Promise<RawResult> {
    if (live?.signal?.aborted) return Promise.resolve({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), code: null, signal: 'SIGKILL' });
    return new Promise((resolve, reject) => {
      // A process group of its own, so the backstop kill takes the command's children too.
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      const kill = () => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      if (timeoutMs) timer = setTimeout(kill, timeoutMs);
      // Aborted: kill the group and answer at once; a `timeout` wrapper runs in a group of its
      // own and may keep the pipes open until its own deadline.
      let aborted = false;
      const abort = () => {
        aborted = true;
        kill();
        if (timer) clearTimeout(timer);
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), code: null, signal: 'SIGKILL' });
      };
      live?.signal?.addEventListener('abort', abort, { once: true });
      child.stdout.on('data', (b: Buffer) => {
        out.push(b);
        live?.onStdout?.(b);
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        live?.signal?.removeEventListener('abort', abort);
        if (aborted) return;
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), code, signal });
      });
      child.stdin.on('error', () => {}); // the command may exit before reading its stdin
      child.stdin.end(stdin ?? Buffer.alloc(0));
    });
  }

  async close(): Promise<void> {}
}
