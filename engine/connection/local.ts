// `connection: local`: the same Host contract, commands run by /bin/sh on this machine.
import { spawn } from 'node:child_process';
import { BaseHost, interrupted, type ExecControl, type RawResult } from './base-host.js';

export class LocalHost extends BaseHost {
  protected execRaw(command: string, stdin: Buffer | undefined, timeoutMs: number | undefined, ctl: ExecControl = {}): Promise<RawResult> {
    return new Promise((resolve, reject) => {
      if (ctl.signal?.aborted) return reject(interrupted(this.name, ctl.signal));
      // A process group of its own, so the backstop kill takes the command's children too.
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      const killGroup = (sig: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, sig);
        } catch {
          child.kill(sig);
        }
      };
      if (timeoutMs) timer = setTimeout(() => killGroup('SIGKILL'), timeoutMs);
      const onAbort = () => {
        killGroup('SIGTERM');
        reject(interrupted(this.name, ctl.signal!));
      };
      ctl.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (b: Buffer) => {
        out.push(b);
        ctl.onStdout?.(b);
      });
      child.stderr.on('data', (b: Buffer) => err.push(b));
      child.on('error', reject);
      child.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        ctl.signal?.removeEventListener('abort', onAbort);
        resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err), code, signal });
      });
      child.stdin.on('error', () => {}); // the command may exit before reading its stdin
      child.stdin.end(stdin ?? Buffer.alloc(0));
    });
  }

  async close(): Promise<void> {}
}
