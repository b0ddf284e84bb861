// wait_for: wait on the host until a port opens or closes, or a path appears or goes.
import { portProblem } from '../../engine/module/name-rules.js';
import { paramProblem, type ParamProblem, type Module } from '../../engine/module/contract.js';
import { CommandFailedError, ModuleError } from '../../engine/errors.js';
import { describeWait, parseWait, waitScript, type WaitForParams, type WaitResult } from './parse.js';

export const waitForModule: Module<WaitForParams, WaitResult> = {
  name: 'wait_for',
  kind: 'state',
  summary: 'Wait until a port opens (or closes) or a path exists (or is gone), up to a timeout.',
  description:
    'The waiting runs on the host in one shell loop (one round trip): sleep delay, then test every sleep seconds until ' +
    'the condition holds (ok) or timeout seconds have passed (the task fails with msg). A port on 127.0.0.1/localhost ' +
    'is open when something listens on it (ss); on another host when a TCP connection to it opens (bash /dev/tcp). ' +
    'It changes nothing, so it waits in check mode too. To wait for a host coming back from a reboot, run it with ' +
    'delegate_to: localhost, host: "{{ ansible_host }}", port: 22.',
  params: {
    host: { type: 'str', default: '127.0.0.1', description: 'Address whose port to wait for (seen from where the task runs).' },
    port: { type: 'int', description: 'TCP port to wait for.', check: portProblem },
    path: { type: 'str', description: 'Absolute path to wait for (instead of port).' },
    state: { type: 'str', default: 'started', choices: ['started', 'stopped', 'present', 'absent'], description: 'started/present: wait until open or there; stopped/absent: until closed or gone.' },
    delay: { type: 'int', default: 0, description: 'Seconds to wait before the first test.' },
    timeout: { type: 'int', default: 300, description: 'Seconds after which the task fails.' },
    sleep: { type: 'int', default: 1, description: 'Seconds between tests.' },
    msg: { type: 'str', description: 'Failure message instead of the default.' },
  },
  examples: [
    '- wait_for:\n    port: 16514\n    timeout: 30',
    '- name: wait for SSH after a reboot\n  wait_for:\n    host: "{{ ansible_host }}"\n    port: 22\n    delay: 10\n    timeout: 600\n  delegate_to: localhost',
    '- wait_for:\n    path: /run/libvirt/libvirt-sock\n    state: present',
  ],
  validate(p) {
    const errs: ParamProblem[] = [];
    if ((p.port === undefined) === (p.path === undefined)) errs.push(paramProblem('port/path', 'give exactly one of them'));
    if (p.path !== undefined && p.state === 'stopped') errs.push(paramProblem('state', 'use absent with path (stopped is for ports)'));
    if (p.port !== undefined && (p.state === 'present' || p.state === 'absent')) errs.push(paramProblem('state', 'use started/stopped with port'));
    if (p.path !== undefined && !p.path.startsWith('/') && !p.path.includes('{{')) errs.push(paramProblem('path', `must be an absolute path, got '${p.path}'`));
    if (!/^[A-Za-z0-9.:_-]+$/.test(p.host) && !p.host.includes('{{')) errs.push(paramProblem('host', `'${p.host}' is not a host name or address`));
    for (const k of ['delay', 'timeout', 'sleep'] as const) if (p[k] < 0) errs.push(paramProblem(k, 'must not be negative'));
    if (p.sleep === 0) errs.push(paramProblem('sleep', 'must be at least 1 second'));
    return errs;
  },
  async read(ctx, p) {
    const r = await ctx.host.run(waitScript(p));
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, `wait for ${describeWait(p)}`, r.code, r.stderr, r.signal);
    const w = parseWait(r.stdout);
    if (!w) throw new ModuleError(`wait_for: unexpected output from the host: ${r.stdout.slice(0, 200)}`);
    return w;
  },
  diff: (w, p) => (w.ready ? [] : { changes: [], failures: [p.msg ?? `timed out after ${w.elapsed} s waiting for ${describeWait(p)}`] }),
  result: (w) => ({ elapsed: w.elapsed }),
};
