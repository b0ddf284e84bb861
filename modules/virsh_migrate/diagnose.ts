// Why a migration failed, from virsh's error and the libvirt/QEMU logs and dmesg of both hosts:
// virsh alone often says only "domain is no longer running" (kvm-lab.md). Pure: the module
// collects the texts, this names the cause.

export interface LogSource {
  /** e.g. "hv1 libvirtd log", "hv2 /var/log/libvirt/qemu/g1.log", "virsh". */
  name: string;
  text: string;
}

export interface Diagnosis {
  /** One sentence naming the cause; absent when no rule matched. */
  cause?: string;
  /** The matched kind: tls-hostname, firewall, no-route, aborted, … */
  kind?: string;
  /** The log lines that show it ("source: line"), at most a few. */
  evidence: string[];
}

interface Rule {
  kind: string;
  re: RegExp;
  cause(m: RegExpExecArray, source: string): string;
}

// Most specific first: a TLS mismatch also ends in "domain is no longer running".
const RULES: Rule[] = [
  {
    kind: 'tls-hostname',
    re: /Certificate does not match the hostname ([^\s'"]+)/,
    cause: (m) => `TLS certificate/hostname mismatch: the destination's certificate does not match ${m[1]} (it must carry the migration_host address as a subject alternative name)`,
  },
  {
    kind: 'tls-required',
    re: /allows migration only with VIR_MIGRATE_TLS|migrat\w* .*requires? TLS/i,
    cause: () => 'the destination requires TLS for migrations (migrate_tls_force in qemu.conf): set tls: true',
  },
  {
    kind: 'tls-certificate',
    re: /(Unable to (?:read|load|verify)[^\n]*cert[^\n]*|certificate[^\n]*(?:expired|not yet activated|not trusted|signer not found|revoked)[^\n]*)/i,
    cause: (m) => `TLS certificate problem: ${m[1].trim()}`,
  },
  {
    kind: 'timeout',
    re: /Connection timed out|Operation timed out|timed out connecting/,
    cause: (_m, src) => `connection timed out (seen in ${src}): a firewall drops the migration traffic, or the destination is unreachable`,
  },
  {
    kind: 'firewall',
    re: /Connection refused/,
    cause: (_m, src) => `connection refused (seen in ${src}): the destination's firewall rejects the migration port or its daemon is not listening`,
  },
  { kind: 'no-route', re: /No route to host|Network is unreachable/, cause: (_m, src) => `no route to the destination's migration address (seen in ${src})` },
  {
    kind: 'resolve',
    re: /Unable to resolve address '([^']+)'/,
    cause: (m) => `the destination advertised '${m[1]}', which the source cannot resolve: set migration_host/migration_address in the destination's qemu.conf`,
  },
  { kind: 'same-host', re: /Attempt to migrate guest to the same host/, cause: () => 'source and destination have the same host UUID (host_uuid in libvirtd.conf)' },
  { kind: 'cpu', re: /(guest CPU doesn't match specification[^\n]*|the CPU is incompatible with host CPU[^\n]*)/, cause: (m) => `the destination's CPU is incompatible: ${m[1].trim()}` },
  { kind: 'memory', re: /(cannot set up guest memory[^\n]*|Cannot allocate memory|Out of memory)/, cause: (m) => `the destination could not allocate the guest's memory: ${m[1].trim()}` },
  { kind: 'defined', re: /domain '([^']+)' is already defined with uuid/, cause: (m) => `the destination already has a different domain named '${m[1]}'` },
  { kind: 'aborted', re: /operation aborted: job '[^']*' canceled by client|migration (?:was )?cancell?ed/, cause: () => 'aborted: the migration job was cancelled (domjobabort); the guest stays on the source' },
  { kind: 'link', re: /(Link is Down|NETDEV WATCHDOG[^\n]*|rx_over_errors[^\n]*|RX overrun[^\n]*)/i, cause: (m, src) => `network trouble on the migration path (${src}: ${m[1].trim()})` },
  { kind: 'reset', re: /Connection reset by peer|Broken pipe|Input\/output error/, cause: (_m, src) => `the migration connection broke (seen in ${src})` },
];

/** Lines worth quoting: errors and warnings, not the daemon's debug chatter. */
const INTERESTING = /error|fail|refused|denied|unable|cannot|mismatch|abort|cancel|timed out|no route|link is down|overrun/i;

export function diagnose(sources: LogSource[]): Diagnosis {
  for (const rule of RULES) {
    for (const s of sources) {
      for (const line of s.text.split('\n')) {
        const m = rule.re.exec(line);
        if (m) return { kind: rule.kind, cause: rule.cause(m, s.name), evidence: [`${s.name}: ${trimLine(line)}`] };
      }
    }
  }
  const evidence: string[] = [];
  for (const s of sources) for (const line of s.text.split('\n')) if (INTERESTING.test(line) && evidence.length < 4) evidence.push(`${s.name}: ${trimLine(line)}`);
  return { evidence };
}

/** A log line without its timestamp/pid prefix, cut to a readable length. */
function trimLine(line: string): string {
  const l = line.replace(/^\d{4}-\d\d-\d\d[ T][\d:.+]+(?:Z|[+-]\d{4})?:\s*(?:\d+:\s*)?/, '').trim();
  return l.length > 240 ? `${l.slice(0, 239)}…` : l;
}
