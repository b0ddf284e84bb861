// virsh_migrate: live-migrate a libvirt domain from the task's host to another inventory host.
// In sync when the domain runs on the destination and not on the source (a second run is a
// no-op); --check reports the would-be migration and runs every preflight check; apply watches
// and steers the job and returns its latency record as metrics.
import type { Change, DiffResult, Module } from '../../engine/module/contract.js';
import type { Host } from '../../engine/connection/host.js';
import { sh } from '../../engine/connection/quote.js';
import { ModuleError } from '../../engine/errors.js';
import { jobRunning, parseDomInfo, parseJobInfo, type DomInfo, type JobInfo } from './parse.js';
import { virshJoin, virshSections } from './virsh.js';
import { MIGRATE_PARAMS, tlsSetting, validateMigrate, type MigrateParams } from './params.js';
import { preflight, readConfs, resolveTls, type PreflightResult } from './preflight.js';
import { runMigration } from './run.js';

export interface MigrateState {
  srcName: string;
  dstName: string;
  destUri?: string;
  onSource: DomInfo | null;
  onDest: DomInfo | null;
  /** The source's current job (a migration someone else started, or an orphan). */
  job?: JobInfo;
  preflight?: PreflightResult;
  /** Whether the migration would use TLS (the tls parameter, 'auto' decided by the hosts' qemu.conf). */
  tls?: boolean;
  /** The task runs on `to` itself. */
  self?: boolean;
  /** `virsh domstate --reason` on each host ('' when the domain is not there). */
  srcReason?: string;
  dstReason?: string;
}

const domInfoOf = (text: string | undefined): DomInfo | null => (text && /^Name:/m.test(text) ? parseDomInfo(text) : null);

/** Errors that only say the domain is not there (or not running): anything else is reported. */
const ABSENT = /failed to get domain|Domain not found|domain is not running|no domain with matching/i;

/** Runs joined virsh commands; a virsh failure other than "no such domain" (libvirtd down…) is an error, not an absence. */
async function virshOn(h: Host, cmds: string[]): Promise<string[]> {
  const r = await h.run(sh`virsh -q ${virshJoin(cmds)}`);
  const errors = r.stderr.split('\n').map((l) => l.replace(/^error:\s*/, '').trim()).filter((l) => l && !ABSENT.test(l));
  if (errors.length) throw new ModuleError(`virsh failed on ${h.name}: ${errors.join('; ')} (cannot tell where the domain is)`);
  return virshSections(r.stdout);
}

/** Where the domain is: dominfo, its state's reason (and the source's job) on each host, in parallel. */
async function whereIs(src: Host, dst: Host, domain: string): Promise<Pick<MigrateState, 'onSource' | 'onDest' | 'job' | 'srcReason' | 'dstReason'>> {
  const [a, b] = await Promise.all([virshOn(src, [`dominfo ${domain}`, `domstate --reason ${domain}`, `domjobinfo --rawstats ${domain}`]), virshOn(dst, [`dominfo ${domain}`, `domstate --reason ${domain}`])]);
  return { onSource: domInfoOf(a[0]), onDest: domInfoOf(b[0]), job: parseJobInfo(a[2] ?? ''), srcReason: (a[1] ?? '').trim(), dstReason: (b[1] ?? '').trim() };
}

/** A migration under way, in words, from the states' reasons and the source's job; else undefined. */
export function migrationInProgress(s: MigrateState, domain: string): string | undefined {
  if (/^running \(post-copy/.test(s.dstReason ?? '')) return `${domain} runs on ${s.dstName} in post-copy (part of its memory is still on ${s.self ? 'the source' : s.srcName})`;
  if (/^paused \((post-copy|migrating)/.test(s.dstReason ?? '') && s.self) return `${domain} is ${s.dstReason} on ${s.dstName}`;
  if (/^paused \((post-copy|migrating)/.test(s.srcReason ?? '')) return `${domain} is ${s.srcReason} on ${s.srcName}`;
  if (s.job && jobRunning(s.job)) return `a migration job is running for ${domain} on ${s.srcName} (${Math.round((s.job.stats.time_elapsed ?? 0) / 1000)} s elapsed, ${percentDone(s.job)}% done)`;
  return undefined;
}

function destUriOf(vars: Record<string, unknown>, p: MigrateParams): string | undefined {
  if (p.dest_uri) return p.dest_uri;
  const hv = vars.hostvars as Record<string, Record<string, unknown> | undefined> | undefined;
  const uri = hv?.[p.to]?.libvirt_uri;
  return typeof uri === 'string' && uri ? uri : undefined;
}

function migrationIpOf(vars: Record<string, unknown>, to: string): string | undefined {
  const ip = (vars.hostvars as Record<string, Record<string, unknown> | undefined> | undefined)?.[to]?.migration_ip;
  return typeof ip === 'string' ? ip : undefined;
}

const percentDone = (j: JobInfo) => {
  const total = j.stats.data_total ?? 0;
  return total ? Math.floor((100 * (total - (j.stats.data_remaining ?? 0))) / total) : 0;
};

export function migrateDiff(s: MigrateState, p: MigrateParams): DiffResult {
  const fail = (m: string): DiffResult => ({ changes: [], failures: [m] });
  const runsSrc = s.onSource?.state === 'running';
  const runsDst = s.onDest?.state === 'running';
  const busy = migrationInProgress(s, p.domain);
  if (busy) return fail(`migration in progress: ${busy}; not in sync and not starting another: wait for it to finish (before post-copy it can be aborted with 'virsh domjobabort ${p.domain}' on the source)`);
  if (runsDst && !runsSrc) return { changes: [] };
  if (s.self) return fail(`domain ${p.domain} is not running on ${s.dstName} (${s.onDest?.state ?? 'not defined'}), the task's own host: run the task on the host the domain runs on`);
  if (!s.destUri) return fail(`to: ${p.to} has no libvirt_uri variable (e.g. qemu+tls://ADDR/system?pkipath=DIR): set it in the inventory or give dest_uri`);
  if (!s.onSource && s.onDest) {
    return fail(
      `${p.domain} runs nowhere: ${s.dstName} has it ${s.onDest.state} and ${s.srcName} does not have it (after a migration this means the guest stopped on ${s.dstName}: see /var/log/libvirt/qemu/${p.domain}.log there)`,
    );
  }
  if (!s.onSource) return fail(`preflight: domain ${p.domain} does not exist on ${s.srcName} nor on ${s.dstName}`);
  if (!runsSrc) return fail(`preflight: domain ${p.domain} is not running on ${s.srcName} (${s.onSource.state}): only a running domain is live-migrated`);
  if (runsDst) return fail(`${p.domain} runs on both ${s.srcName} and ${s.dstName}: refusing to touch it`);
  if (s.preflight?.problems.length) return { changes: [], failures: s.preflight.problems.map((m) => `preflight: ${m}`), warnings: s.preflight.warnings };
  const est = s.preflight ? ` (${s.preflight.estimate})` : '';
  const change: Change = {
    path: `domain ${p.domain}`,
    from: s.srcName,
    to: s.dstName,
    message: `would migrate ${p.domain} from ${s.srcName} to ${s.dstName}${est}`,
    done: `migrated ${p.domain} from ${s.srcName} to ${s.dstName}`,
  };
  return { changes: [change], warnings: s.preflight?.warnings ?? [] };
}

export const virshMigrate: Module<MigrateParams, MigrateState> = {
  name: 'virsh_migrate',
  kind: 'state',
  cancellable: true,
  cancelGraceMs: 20_000,
  summary: 'Live-migrate a libvirt domain to another inventory host: preflight-checked, watched, steered to convergence, aborted safely.',
  description: [
    'Runs on the SOURCE host (the task\'s host or delegate_to). In sync when the domain runs on `to` and not on the source, so a second run changes nothing.',
    'Preflight (also in --check): the domain runs on the source; the destination libvirt answers over the migration network; CPU compatible (hypervisor-cpu-compare);',
    'destination libvirt/QEMU not older; enough memory there; no migration job already running; the migration port passes the destination firewall;',
    'TLS: migrate_tls_force honoured, certificates valid and matching migration_host; disks on shared storage unless copy_storage.',
    'While running: domjobinfo polled every 500 ms in one virsh session, progress shown live, the policy steers (migrate-setmaxdowntime, migrate-postcopy);',
    "on a timeout, the task's timeout: or Ctrl-C the job is aborted with domjobabort and the guest keeps running on the source.",
    'Failures name their cause from both hosts\' libvirt/QEMU logs and dmesg. Metrics (JSON report, Prometheus): total_s, job_s, downtime_ms, setup_ms, data_mib,',
    'avg_mibps, peak_mibps, dirty_rate_mibps, iterations, strategy (precopy, raised-downtime, postcopy, auto-converge), steps. register: migrated, from, to, total_s, downtime_ms, strategy.',
  ].join(' '),
  params: MIGRATE_PARAMS,
  examples: [
    '- virsh_migrate:\n    domain: web1\n    to: hv2\n    max_downtime_ms: 300\n  register: moved',
    '- virsh_migrate:\n    domain: "{{ vm }}"\n    to: "{{ to }}"\n    policy: converge\n    allow_postcopy: true\n    tls: true\n  delegate_to: "{{ source }}"',
  ],
  validate: validateMigrate,
  async read(ctx, p) {
    const srcName = ctx.host.name;
    if (p.to === srcName) {
      // The domain is already where it should be (a second run lands here): in sync if it runs.
      const [info, reason] = await virshOn(ctx.host, [`dominfo ${p.domain}`, `domstate --reason ${p.domain}`]);
      return { srcName, dstName: p.to, destUri: 'self', onSource: null, onDest: domInfoOf(info), job: undefined, self: true, dstReason: (reason ?? '').trim() };
    }
    const dst = await ctx.peer(p.to);
    const where = await whereIs(ctx.host, dst, p.domain);
    const state: MigrateState = { srcName, dstName: p.to, destUri: destUriOf(ctx.vars, p), ...where };
    const needed = where.onSource?.state === 'running' && where.onDest?.state !== 'running' && !migrationInProgress(state, p.domain);
    if (needed && state.destUri) {
      const setting = tlsSetting(p.tls)!;
      const confs = setting === 'auto' || p.preflight ? await readConfs(ctx.host, dst) : undefined;
      state.tls = confs ? resolveTls(setting, confs) : setting === true;
      if (p.preflight) {
        const dest = { name: p.to, uri: state.destUri, address: migrationIpOf(ctx.vars, p.to) };
        state.preflight = await preflight({ src: ctx.host, dst, srcName, dest, info: where.onSource!, p: { ...p, tls: state.tls }, confs: confs! });
      }
    }
    return state;
  },
  diff: migrateDiff,
  async apply(ctx, p, _changes, s) {
    const dst = await ctx.peer(p.to);
    return runMigration(ctx, { ...p, tls: s.tls ?? tlsSetting(p.tls) === true }, {
      src: ctx.host,
      dst,
      srcName: s.srcName,
      dstName: s.dstName,
      destUri: s.destUri!,
      memoryBytes: (s.onSource!.maxMemoryKib || s.onSource!.usedMemoryKib) * 1024,
      sourcePersistent: s.onSource!.persistent,
    });
  },
  result: (s) => ({ migrated: false, from: s.srcName, to: s.dstName, running_on: s.onDest?.state === 'running' ? s.dstName : s.onSource?.state === 'running' ? s.srcName : null }),
};
