// service: a daemon running or not, enabled at boot or not; restart/reload as actions.
import { paramProblem, type ParamProblem, type Change, type DiffResult, type Module } from '../../engine/module/contract.js';
import { CommandFailedError } from '../../engine/errors.js';
import { serviceCommand, serviceReadScript, parseServiceRead, type ServiceFacts, type ServiceVerb } from './parse.js';

export interface ServiceParams {
  name: string;
  state?: 'started' | 'stopped' | 'restarted' | 'reloaded';
  enabled?: boolean;
}

const onOff = (running: boolean) => (running ? 'running' : 'stopped');

/** What a change is about: the boot setting or the running state (a start, stop, restart, reload). */
export interface ServiceTarget {
  facet: 'enabled' | 'running';
}

/**
 * restarted/reloaded are actions (Change.action): due on every run, so the engine's
 * convergence re-read ignores them, while `enabled` and started/stopped must converge.
 */
export function diffService(f: ServiceFacts, p: ServiceParams): DiffResult<ServiceTarget> {
  const name = p.name;
  if (f.init === 'none') return { changes: [], failures: [`no service '${name}' (no systemd unit, no executable /etc/init.d/${name})`] };
  const changes: Change<ServiceTarget>[] = [];
  const boot: ServiceTarget = { facet: 'enabled' };
  const running: ServiceTarget = { facet: 'running' };
  const path = `service ${name}`;
  const failures: string[] = [];
  if (p.enabled !== undefined && f.enabled !== p.enabled) {
    if (f.init === 'systemd' && ['static', 'masked', 'indirect', 'generated', 'transient'].includes(f.detail ?? '')) {
      failures.push(`service '${name}' is ${f.detail}: it cannot be ${p.enabled ? 'enabled' : 'disabled'}`);
    } else changes.push({ path: `${path} enabled`, target: boot, from: f.enabled, to: p.enabled });
  }
  if (p.state !== undefined) {
    if (f.running === undefined) {
      failures.push(`cannot tell whether service '${name}' runs (${f.detail}); its init script has no usable status`);
    } else if (p.state === 'started' && !f.running) {
      changes.push({ path, target: running, from: onOff(false), to: onOff(true) });
    } else if (p.state === 'stopped' && f.running) {
      changes.push({ path, target: running, from: onOff(true), to: onOff(false), disruptive: true });
    } else if (p.state === 'restarted') {
      changes.push({ path, target: running, message: f.running ? 'would restart' : 'would start (restart of a stopped service)', done: f.running ? 'restarted' : 'started (restart of a stopped service)', action: true, disruptive: f.running });
    } else if (p.state === 'reloaded') {
      // A stopped service cannot reload: starting it is a state change that must converge.
      if (f.running) changes.push({ path, target: running, message: 'would reload', done: 'reloaded', action: true });
      else changes.push({ path, target: running, from: onOff(false), to: onOff(true) });
    }
  }
  return { changes, failures };
}

/** The verbs for the changes, in order: boot setting first, then the running state. */
export function serviceVerbs(p: ServiceParams, changes: Change<ServiceTarget>[]): ServiceVerb[] {
  const verbs: ServiceVerb[] = [];
  for (const c of changes) {
    if (c.target?.facet === 'enabled') verbs.push(c.to ? 'enable' : 'disable');
  }
  for (const c of changes) {
    if (c.target?.facet !== 'running') continue;
    if (p.state === 'restarted') verbs.push('restart');
    else if (c.action) verbs.push('reload');
    else verbs.push(c.to === 'running' ? 'start' : 'stop');
  }
  return verbs;
}

export const serviceModule: Module<ServiceParams, ServiceFacts, ServiceTarget> = {
  name: 'service',
  kind: 'state',
  summary: 'Start, stop, restart or reload a service and enable/disable it at boot (systemd or sysvinit).',
  description:
    'systemd when /run/systemd/system exists (systemctl), else sysvinit: /etc/init.d/NAME and update-rc.d. ' +
    'started/stopped and enabled converge like any state; restarted/reloaded are actions, done on every run ' +
    '(use them in handlers), shown as "would restart" in check mode. reloaded starts a stopped service.',
  params: {
    name: { type: 'str', required: true, description: 'Service name (systemd unit or /etc/init.d script).' },
    state: { type: 'str', choices: ['started', 'stopped', 'restarted', 'reloaded'], description: 'Running state to reach, or action to take.' },
    enabled: { type: 'bool', description: 'Start at boot.' },
  },
  examples: [
    '- service:\n    name: libvirtd\n    state: started\n    enabled: true',
    '# a handler\n- name: restart libvirtd\n  service:\n    name: libvirtd\n    state: restarted',
  ],
  validate(p) {
    const errs: ParamProblem[] = [];
    if (!/^[A-Za-z0-9@._:\\-]+$/.test(p.name) && !p.name.includes('{{')) errs.push(paramProblem('name', `'${p.name}' is not a service name`));
    if (p.state === undefined && p.enabled === undefined) errs.push(paramProblem('state/enabled', 'give at least one'));
    return errs;
  },
  async read(ctx, p) {
    const r = await ctx.host.run(serviceReadScript(p.name));
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, `read service ${p.name}`, r.code, r.stderr, r.signal);
    return parseServiceRead(r.stdout);
  },
  diff: (f, p) => diffService(f, p),
  async apply(ctx, p, changes, f) {
    for (const verb of serviceVerbs(p, changes)) {
      const r = await ctx.host.run(serviceCommand(f.init, p.name, verb));
      if (r.code !== 0) throw new CommandFailedError(ctx.hostName, `${verb} ${p.name}`, r.code, r.stdout, r.signal);
    }
  },
  result: (f, p) => ({ name: p.name, init: f.init, running: f.running, enabled: f.enabled }),
};
