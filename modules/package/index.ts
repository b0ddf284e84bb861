// package (and apt): Debian packages installed, removed or at apt's candidate version.
import { paramProblem, type Module } from '../../engine/module/contract.js';
import { CommandFailedError, ModuleError } from '../../engine/errors.js';
import { shJoin } from '../../engine/connection/quote.js';
import { diffPackages, PACKAGE_NAME, parsePackages, type PackageInfo, type PackageState, type PackageTarget } from './parse.js';

export interface PackageParams {
  name: string[];
  state: PackageState;
  update_cache: boolean;
  purge: boolean;
  lock_timeout: number;
}

const FORMAT = '${binary:Package}\\t${db:Status-Status}\\t${Version}\\n';

/** One round trip: what dpkg has installed and what apt would install, in marked sections. */
export function readScript(names: string[]): string {
  const args = shJoin(names);
  return [
    "command -v dpkg-query >/dev/null && command -v apt-get >/dev/null || { echo 'not a Debian host (no dpkg-query/apt-get)' >&2; exit 3; }",
    `echo '--- dpkg'; dpkg-query -W -f='${FORMAT}' ${args} 2>/dev/null`,
    `echo '--- policy'; apt-cache policy ${args} 2>/dev/null`,
    "echo '--- end'",
  ].join('\n');
}

function aptGet(p: PackageParams, verb: string, names: string[]): string {
  // The lab's hosts (and a fleet's unattended-upgrades) share one dpkg: wait for its lock, do not fail on it.
  const opts = ['-q', '-y', '-o', `DPkg::Lock::Timeout=${p.lock_timeout}`, '-o', 'Dpkg::Options::=--force-confdef', '-o', 'Dpkg::Options::=--force-confold'];
  return `DEBIAN_FRONTEND=noninteractive apt-get ${shJoin([...opts, verb, ...names])}`;
}

export const packageModule: Module<PackageParams, Record<string, PackageInfo>, PackageTarget> = {
  name: 'package',
  kind: 'state',
  freeForm: 'name',
  summary: 'Debian packages installed (present), at the candidate version (latest), or removed (absent), with apt-get.',
  description:
    'Reads dpkg-query and apt-cache policy in one round trip; the changes are `package NAME: installed → candidate` ' +
    '(check mode shows them and installs nothing). present installs what is missing; latest also upgrades to the ' +
    "version apt-cache policy names as candidate; absent removes (purge: also the configuration). update_cache runs " +
    'apt-get update before installing, only when something is to be installed. apt-get waits up to lock_timeout ' +
    'seconds for the dpkg lock. `apt` is the same module. Debian and its derivatives only.',
  params: {
    name: {
      type: 'list',
      required: true,
      aliases: ['pkg', 'names'],
      elements: { type: 'str', description: 'a Debian package name', check: (v) => (typeof v === 'string' && !v.includes('{{') && !PACKAGE_NAME.test(v) ? `'${v}' is not a Debian package name` : undefined) },
      description: 'Package name or list of names (a comma-separated string works too).',
    },
    state: { type: 'str', default: 'present', choices: ['present', 'absent', 'latest', 'installed', 'removed'], description: 'present (installed), latest, or absent (removed).' },
    update_cache: { type: 'bool', default: false, description: 'apt-get update before installing (only when something is to be installed).' },
    purge: { type: 'bool', default: false, description: 'With absent: remove configuration files too.' },
    lock_timeout: { type: 'int', default: 120, description: 'Seconds apt-get waits for the dpkg lock.' },
  },
  examples: [
    '- package:\n    name: [ethtool, iperf3]\n    state: present',
    '- apt:\n    name: qemu-system-x86\n    state: latest\n    update_cache: true',
    '- package: { name: telnet, state: absent }',
  ],
  validate(p) {
    return p.name.length === 0 ? [paramProblem('name', 'give at least one package')] : [];
  },
  async read(ctx, p) {
    const names = normalizeNames(p.name);
    const r = await ctx.host.run(readScript(names));
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, 'read packages', r.code, r.stderr, r.signal);
    try {
      return parsePackages(r.stdout, names);
    } catch (e) {
      throw new ModuleError(`unexpected output reading packages (${(e as Error).message}): ${r.stdout.slice(0, 200)}`);
    }
  },
  diff: (s, p) => diffPackages(s, stateOf(p)),
  async apply(ctx, p, changes) {
    const names = changes.flatMap((c) => (c.target ? [c.target.name] : []));
    const state = stateOf(p);
    const cmds = state === 'absent' ? [aptGet(p, p.purge ? 'purge' : 'remove', names)] : [...(p.update_cache ? [aptGet(p, 'update', [])] : []), aptGet(p, 'install', names)];
    for (const cmd of cmds) {
      const r = await ctx.host.run(cmd);
      if (r.code !== 0) throw new CommandFailedError(ctx.hostName, cmd, r.code, r.stderr || r.stdout.slice(-500), r.signal);
    }
  },
  result: (s) => ({ packages: s }),
};

/** Ansible's synonyms: installed = present, removed = absent. */
function stateOf(p: PackageParams): PackageState {
  const s = p.state as string;
  return s === 'installed' ? 'present' : s === 'removed' ? 'absent' : (s as PackageState);
}

/** `name: "a,b"` is two packages, as in Ansible. */
function normalizeNames(names: string[]): string[] {
  return names.flatMap((n) => n.split(',')).map((n) => n.trim()).filter(Boolean);
}

export const aptModule: Module<PackageParams, Record<string, PackageInfo>, PackageTarget> = { ...packageModule, name: 'apt', summary: 'The package module under its Debian name: ' + packageModule.summary };
