// The Host a module sees for one task: become settings of the task applied by default,
// so no module has to remember to pass them.
import type { Host, RunOptions, WriteOptions } from '../host.js';

export function taskHost(base: Host, become: boolean, becomeUser: string | undefined): Host {
  const withBecome = <T extends { become?: boolean; becomeUser?: string }>(o: T | undefined): T =>
    ({ become, becomeUser, ...(o ?? {}) }) as T;
  return {
    name: base.name,
    run: (cmd: string, opts?: RunOptions) => base.run(cmd, withBecome(opts)),
    readFile: (path: string, opts?: { become?: boolean; becomeUser?: string }) => base.readFile(path, withBecome(opts)),
    writeFile: (path: string, content: string | Buffer, opts?: WriteOptions) => base.writeFile(path, content, withBecome(opts)),
    close: () => base.close(),
  };
}
