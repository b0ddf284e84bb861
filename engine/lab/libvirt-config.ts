// What a libvirt lab host's daemons read: libvirtd.conf, the lab's qemu.conf block, /etc/hosts,
// and where its certificates live. Pure: unit-tested, written by libvirt.ts.
import { createHash } from 'node:crypto';

/** Certificate paths inside a host (under its private /etc/pki overlay). */
export const PKI = {
  caFile: '/etc/pki/CA/cacert.pem',
  certFile: '/etc/pki/libvirt/servercert.pem',
  keyFile: '/etc/pki/libvirt/private/serverkey.pem',
  /** For `qemu+tls://ADDR/system?pkipath=…`: cacert.pem, clientcert.pem, clientkey.pem. */
  clientDir: '/etc/pki/libvirt-client',
  /** QEMU's migration TLS (migrate_tls_x509_cert_dir): ca-cert.pem, server-*.pem, client-*.pem. */
  migrateDir: '/etc/pki/libvirt-migrate',
};

export const MIGRATION_PORTS = { min: 49152, max: 49215 };
export const QEMU_BLOCK_MARK = '# --- play lab libvirt host (written by `play lab up --libvirt`) ---';

/** The URI other hosts (and the source daemon under --p2p) use to reach this host's libvirtd. */
export function labLibvirtUri(ip: string): string {
  if (!/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(ip)) throw new Error(`not an IPv4 address: ${ip}`);
  return `qemu+tls://${ip}/system?pkipath=${PKI.clientDir}`;
}

/**
 * A stable, distinct host_uuid per lab host: there is no DMI here, so libvirtd would pick a random
 * one per start, and equal UUIDs make migration fail ("Attempt to migrate guest to the same host").
 */
export function hostUuid(lab: string, host: string): string {
  const h = createHash('sha256').update(`play-lab:${lab}:${host}`).digest('hex');
  // RFC 4122 layout, version 4 and variant bits set so libvirt accepts it as a UUID.
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16], 16) & 3) | 8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function libvirtdConf(lab: string, host: string, ip: string): string {
  return [
    `# play lab ${lab}, host ${host}: written by \`play lab up --libvirt\``,
    `host_uuid = "${hostUuid(lab, host)}"`,
    'listen_tls = 1',
    'listen_tcp = 0',
    `listen_addr = "${ip}"`,
    `ca_file = "${PKI.caFile}"`,
    `cert_file = "${PKI.certFile}"`,
    `key_file = "${PKI.keyFile}"`,
    'log_outputs = "3:file:/var/log/libvirt/libvirtd.log"',
    '',
  ].join('\n');
}

/** Appended to the host's stock qemu.conf (withLabQemuConf skips keys the file already sets). */
export function qemuConfBlock(ip: string): string {
  return [
    QEMU_BLOCK_MARK,
    '# root: otherwise every API call re-probes QEMU (44 s per create)',
    'user = "root"',
    'group = "root"',
    '# no cgroup controllers inside a namespace lab host',
    'cgroup_controllers = [ ]',
    'security_driver = "none"',
    '# the destination advertises this address (not its hostname): migration data crosses eth1',
    `migration_host = "${ip}"`,
    `migration_address = "${ip}"`,
    `migration_port_min = ${MIGRATION_PORTS.min}`,
    `migration_port_max = ${MIGRATION_PORTS.max}`,
    `migrate_tls_x509_cert_dir = "${PKI.migrateDir}"`,
    'migrate_tls_x509_verify = 1',
    '',
  ].join('\n');
}

/** Keys of `key = value` lines that are not comments: to avoid writing a setting twice. */
export function qemuConfKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^\s*([a-z_0-9]+)\s*=/.exec(line);
    if (m) keys.add(m[1]);
  }
  return keys;
}

/** The stock qemu.conf plus the lab block, minus any setting the file already has. */
export function withLabQemuConf(stock: string, ip: string): string {
  if (stock.includes(QEMU_BLOCK_MARK)) return stock;
  const have = qemuConfKeys(stock);
  const block = qemuConfBlock(ip)
    .split('\n')
    .filter((l) => {
      const m = /^([a-z_0-9]+)\s*=/.exec(l);
      return !m || !have.has(m[1]);
    })
    .join('\n');
  return `${stock.replace(/\n*$/, '\n')}\n${block}`;
}

/**
 * /etc/init.d/libvirtd inside a lab host: there is no systemd in a lab host, so a playbook's
 * `service: {name: libvirtd, state: restarted}` (cluster-tune.yml's handler after a qemu.conf
 * change) restarts the host's own daemon here, started exactly as the lab starts it. The PID file
 * is in the host's private /run/libvirt, so it only ever sees that host's daemon.
 */
export function libvirtdInitScript(): string {
  return `#!/bin/sh
# libvirtd of this play lab host (written by \`play lab up --libvirt\`)
PIDFILE=/run/libvirt/libvirtd.pid
pid=
running() {
  pid=$(cat "$PIDFILE" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = libvirtd ] || return 1
  ! grep -q '^State:.*Z' "/proc/$pid/status" 2>/dev/null
}
start() {
  running && return 0
  # -l: the TLS listener on eth1; -p: the host's own PID file
  libvirtd -d -l -p "$PIDFILE" </dev/null >/dev/null 2>&1 || return 1
  n=0
  until virsh -c qemu:///system version >/dev/null 2>&1; do
    n=$((n + 1)); [ $n -lt 600 ] || { echo "libvirtd does not answer" >&2; return 1; }
    sleep 0.1
  done
}
stop() {
  running || return 0
  kill "$pid"
  n=0
  while running; do
    n=$((n + 1)); [ $n -lt 100 ] || { kill -9 "$pid"; break; }
    sleep 0.1
  done
}
case "$1" in
  start) start ;;
  stop) stop ;;
  restart|force-reload) stop && start ;;
  reload) running && kill -HUP "$pid" ;;
  status) running || exit 3 ;;
  *) echo "usage: $0 start|stop|restart|reload|status" >&2; exit 2 ;;
esac
`;
}

export function hostsFile(hosts: Array<{ name: string; migrationIp: string }>, self: string): string {
  const lines = ['127.0.0.1\tlocalhost', `127.0.1.1\t${self}`, '::1\tlocalhost ip6-localhost ip6-loopback'];
  for (const h of hosts) lines.push(`${h.migrationIp}\t${h.name}-mig`);
  return lines.join('\n') + '\n';
}
