// virsh_migrate parameters: the schema, cross-field checks, and the `virsh migrate` flags they mean.
import { boolWord, type ParamSchema } from '../../engine/module/schema.js';
import type { Policy } from './policy.js';

export interface MigrateParams {
  domain: string;
  to: string;
  dest_uri?: string;
  live: boolean;
  peer2peer: boolean;
  persistent: boolean;
  undefine_source: boolean;
  copy_storage: 'none' | 'all' | 'inc';
  /** 'auto' until the hosts' qemu.conf decide it (resolveTls). */
  tls: boolean | 'auto';
  parallel_connections?: number;
  compressed: boolean;
  bandwidth_mib?: number;
  max_downtime_ms: number;
  policy: Policy;
  allow_postcopy: boolean;
  timeout_per_gib_s: number;
  progress_timeout_s: number;
  stall_window_s: number;
  auto_converge: boolean;
  reserve_memory_mib: number;
  preflight: boolean;
}

/** The parameters of a migration about to run: TLS decided. */
export type MigrateRun = Omit<MigrateParams, 'tls'> & { tls: boolean };

/** The tls parameter as given (a bool word or 'auto'); undefined when it is neither. */
export function tlsSetting(v: unknown): boolean | 'auto' | undefined {
  return v === 'auto' ? 'auto' : boolWord(v);
}

/** libvirt domain names as the module accepts them: no quoting games inside virsh's own parser. */
export const DOMAIN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$/;
/** Nova's max_downtime tops out far below this; beyond a minute the guest is effectively stopped. */
export const MAX_DOWNTIME_MS = 60_000;
const positive = (what: string) => (v: number) => (v > 0 ? undefined : `must be greater than 0${what}`);

export const MIGRATE_PARAMS: ParamSchema = {
  domain: { type: 'str', required: true, description: 'The libvirt domain (guest) to migrate.', check: (v: string) => (DOMAIN_NAME.test(v) ? undefined : `'${v}' is not a domain name (letters, digits, . _ + -)`) },
  to: { type: 'str', required: true, description: "Destination inventory host; its `libvirt_uri` variable is the migration control URI (e.g. qemu+tls://198.18.x.2/system?pkipath=DIR)." },
  dest_uri: { type: 'str', description: "Overrides the destination's libvirt_uri." },
  live: { type: 'bool', default: true, description: 'Live migration (the guest keeps running); false pauses it for the transfer.' },
  peer2peer: { type: 'bool', default: true, description: "The source libvirtd drives the migration (--p2p): it survives play's connection; play always aborts it itself on interruption." },
  persistent: { type: 'bool', default: true, description: 'Define the domain on the destination (--persistent).' },
  undefine_source: { type: 'bool', default: true, description: 'Remove the definition from the source afterwards (--undefinesource), so the domain lives in one place.' },
  copy_storage: { type: 'str', choices: ['none', 'all', 'inc'], default: 'none', description: 'none: shared storage (checked); all/inc: copy disks (--copy-storage-all/-inc).' },
  tls: {
    type: 'raw',
    default: 'auto',
    check: (v) => (tlsSetting(v) === undefined ? `must be true, false or auto, got ${JSON.stringify(v)}` : undefined),
    description:
      "Encrypt the migration data stream (--tls). auto: when either host's qemu.conf forces it (migrate_tls_force = 1, as cluster-tune.yml sets), since QEMU then refuses a plain stream; true: always (certificates checked in preflight); false: never (refused where TLS is forced).",
  },
  parallel_connections: { type: 'int', description: 'Multifd: migrate over N connections (--parallel --parallel-connections N).', check: (v: number) => (v >= 2 && v <= 255 ? undefined : 'must be between 2 and 255') },
  compressed: { type: 'bool', default: false, description: 'Compress the stream (--compressed).' },
  bandwidth_mib: { type: 'int', description: 'Bandwidth cap in MiB/s, set when the migration starts (--bandwidth); not changed while it runs.', check: positive('') },
  max_downtime_ms: {
    type: 'int',
    default: 500,
    description: 'The most the guest may be paused at the switch-over (ms, at most 60000): precopy sets it at once, converge ramps up to it.',
    check: (v: number) => (v > 0 && v <= MAX_DOWNTIME_MS ? undefined : `must be between 1 and ${MAX_DOWNTIME_MS} ms: a longer pause is no longer a live migration (use live: false)`),
  },
  policy: { type: 'str', choices: ['precopy', 'converge', 'postcopy'], default: 'converge', description: "precopy: plain, abort at the completion timeout; converge: raise the downtime limit along oVirt's ramp 100→150→200→300→400→500 ms on each stall, then post-copy if allowed, else abort at the completion timeout; postcopy: switch after the first full pass." },
  allow_postcopy: { type: 'bool', default: false, description: 'converge may end in post-copy (a host failure during post-copy loses the guest: a last resort).' },
  timeout_per_gib_s: { type: 'num', default: 800, description: "Completion timeout per GiB of guest memory (Nova's live_migration_completion_timeout).", check: positive('') },
  progress_timeout_s: { type: 'num', default: 150, description: "Abort when the data remaining has not fallen for this long (Nova's live_migration_progress_timeout).", check: positive('') },
  stall_window_s: { type: 'num', default: 10, description: 'converge: a stall is no new low of the data remaining for this long (or a pass not smaller than the last).', check: positive('') },
  auto_converge: { type: 'bool', default: false, description: 'Let QEMU throttle the guest CPU when it dirties memory too fast (--auto-converge, chosen at the start).' },
  reserve_memory_mib: { type: 'int', default: 0, description: "Memory the destination keeps for itself (Nova's reserved_host_memory_mb): the guest must fit in the rest." },
  preflight: { type: 'bool', default: true, description: 'Run the preflight checks (CPU, versions, memory, firewall, TLS, storage) before migrating.' },
};

export function validateMigrate(p: MigrateParams): string[] {
  const out: string[] = [];
  if (p.policy === 'postcopy' && !p.live) out.push('policy: postcopy needs live: true');
  if (p.allow_postcopy && p.policy === 'precopy') out.push('allow_postcopy: precopy never switches to post-copy (use policy: converge)');
  if (p.undefine_source && !p.persistent) out.push('undefine_source: needs persistent: true, or the domain would be defined nowhere');
  return out;
}

/** `virsh migrate` flags (without the domain and URI). */
export function migrateFlags(p: MigrateRun, usePostcopy: boolean, sourcePersistent: boolean): string[] {
  const f: string[] = [];
  if (p.live) f.push('--live');
  if (p.peer2peer) f.push('--p2p');
  if (p.persistent) f.push('--persistent');
  // A transient domain has no definition to remove.
  if (p.undefine_source && sourcePersistent) f.push('--undefinesource');
  if (p.copy_storage === 'all') f.push('--copy-storage-all');
  if (p.copy_storage === 'inc') f.push('--copy-storage-inc');
  if (p.tls) f.push('--tls');
  if (p.parallel_connections) f.push('--parallel', '--parallel-connections', String(p.parallel_connections));
  if (p.compressed) f.push('--compressed');
  if (p.bandwidth_mib) f.push('--bandwidth', String(p.bandwidth_mib));
  if (p.auto_converge) f.push('--auto-converge');
  if (usePostcopy) f.push('--postcopy');
  return f;
}
