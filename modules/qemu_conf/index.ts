// qemu_conf: named keys of libvirt's qemu.conf (migration TLS, ports), edited in place, plus
// read-only checks of the migration TLS certificates those keys point at.
import { paramProblem, type ParamProblem, type Change, type DiffResult, type Module } from '../../engine/module/contract.js';
import { markedScript, parseMarked, type Probe } from '../../engine/connection/sections.js';
import { sh } from '../../engine/connection/quote.js';
import { CommandFailedError } from '../../engine/errors.js';
import { KEY_RE, parseConf, renderValue, sameValue, setKeys, valueProblem, type ConfEntry } from './parse.js';
import { CLIENT_FILES, QEMU_DEFAULT_DIR, SERVER_FILES, certFindings, certScript, parseCertReport, type CertReport, type CertScriptInput } from './cert-check.js';
import { fileChange, type FileTarget } from '../lib/files/path-info.js';

export interface QemuConfParams {
  path: string;
  settings: Record<string, unknown>;
  verify_certs: boolean;
  cert_min_days: number;
}

export interface QemuConfState {
  exists: boolean;
  text: string;
  entries: Map<string, ConfEntry>;
  /** Files the cert dir must hold (client files only when migration verifies peers). */
  certFiles: string[];
  certs?: CertReport;
}

/** Keys whose value libvirt reads as an integer (0/1 flags, ports): a quoted "1" would break the daemon. */
const INT_KEY = /(_verify|_force|^migration_port_(min|max)|^remote_display_port_(min|max)|^remote_websocket_port_(min|max))$/;
/** Keys that hold a path, address or name: a bare number there is a mistake. */
const STR_KEY = /(_cert_dir|_secret_uuid|^migration_host|^migration_address|^user|^group)$/;

/** The value of a key as it will be after apply: the task's setting, else the file's. */
function effective(state: QemuConfState | Map<string, ConfEntry>, settings: Record<string, unknown>, key: string): unknown {
  if (settings[key] !== undefined) return settings[key];
  const entries = state instanceof Map ? state : state.entries;
  return entries.get(key)?.value;
}

/** libvirt's rule: migrate_tls_x509_verify, else default_tls_x509_verify, else 1. */
function verifiesPeers(entries: Map<string, ConfEntry>, settings: Record<string, unknown>): boolean {
  const v = effective(entries, settings, 'migrate_tls_x509_verify') ?? effective(entries, settings, 'default_tls_x509_verify') ?? 1;
  return !(v === 0 || v === false || v === '0');
}

/**
 * What the certificate check looks at, from the file's entries and the settings; `settled` when
 * the settings alone decide it (the directory and whether peers are verified), whatever the file says.
 */
function certInput(entries: Map<string, ConfEntry>, p: QemuConfParams): { input: CertScriptInput; settled: boolean } {
  const certFiles = verifiesPeers(entries, p.settings) ? [...SERVER_FILES, ...CLIENT_FILES] : SERVER_FILES;
  const dir = effective(entries, p.settings, 'migrate_tls_x509_cert_dir');
  const defaultDir = effective(entries, p.settings, 'default_tls_x509_cert_dir');
  const input = { dir: typeof dir === 'string' ? dir : undefined, defaultDir: typeof defaultDir === 'string' ? defaultDir : QEMU_DEFAULT_DIR, files: certFiles, minDays: p.cert_min_days };
  return { input, settled: typeof p.settings.migrate_tls_x509_cert_dir === 'string' && p.settings.migrate_tls_x509_verify !== undefined };
}

const show = (v: unknown) => (v === undefined ? undefined : renderValue(v));

export const qemuConf: Module<QemuConfParams, QemuConfState, FileTarget> = {
  name: 'qemu_conf',
  kind: 'state',
  summary: "Set named keys of libvirt's qemu.conf (migration TLS, ports) and check the migration certificates",
  description: [
    'Edits only the keys under `settings`: an active line is updated, a commented default such as',
    '`#migrate_tls_force = 0` is replaced in place, a missing key is appended; every other line and',
    'comment stays byte-identical. Values are typed: strings are written quoted ("/etc/pki/x"), integers',
    'bare (1), booleans as 1/0, lists as [ "a", "b" ]. The file is replaced atomically and the previous',
    'content kept as a backup (PATH.<timestamp>~); --diff shows the whole-file diff.',
    '',
    'With verify_certs (default), the migration certificate directory is checked read-only in one round',
    'trip with openssl: migrate_tls_x509_cert_dir, else /etc/pki/libvirt-migrate when it exists, else',
    'default_tls_x509_cert_dir (default /etc/pki/qemu) — the order libvirt uses. It must hold ca-cert.pem,',
    'server-cert.pem, server-key.pem, and client-cert.pem, client-key.pem when migrate_tls_x509_verify is',
    'on (libvirt default). Keys must not be world-readable and must match their certificate; certificates',
    'must parse, chain to ca-cert.pem and not expire within cert_min_days. Each problem fails the task,',
    'in check mode too. Set verify_certs: false when the task only manages non-TLS keys.',
    '',
    'libvirt reads qemu.conf at start: notify a handler that restarts virtqemud or libvirtd (running',
    'guests survive the restart).',
  ].join('\n'),
  params: {
    path: { type: 'str', description: 'qemu.conf to edit', default: '/etc/libvirt/qemu.conf' },
    settings: {
      type: 'dict',
      required: true,
      description: 'qemu.conf keys and typed values, e.g. migrate_tls_force: 1, migrate_tls_x509_cert_dir: /etc/pki/libvirt-migrate',
      values: { type: 'raw', description: 'a string, an integer, a boolean or a list of strings/integers', check: valueProblem },
    },
    verify_certs: { type: 'bool', description: 'check the migration TLS certificate directory (read only)', default: true },
    cert_min_days: { type: 'int', description: 'fail when a certificate expires within this many days', default: 30, check: (v: number) => (v < 0 ? 'must be 0 or more' : undefined) },
  },
  examples: [
    [
      '- name: Force TLS for live migration',
      '  qemu_conf:',
      '    settings:',
      '      migrate_tls_x509_cert_dir: /etc/pki/libvirt-migrate',
      '      migrate_tls_x509_verify: 1',
      '      migrate_tls_force: 1',
      '      migration_port_min: 49152',
      '      migration_port_max: 49215',
      '    cert_min_days: 30',
      '  notify: restart libvirt',
      '',
      '# in the play:',
      'handlers:',
      '  - name: restart libvirt',
      '    command: sh -c "if pidof virtqemud >/dev/null; then systemctl restart virtqemud; else systemctl restart libvirtd; fi"',
    ].join('\n'),
    [
      '- name: Migration ports only (no certificate checks)',
      '  qemu_conf:',
      '    settings: { migration_port_min: 49152, migration_port_max: 49215 }',
      '    verify_certs: false',
    ].join('\n'),
  ],

  validate(p) {
    const out: ParamProblem[] = [];
    if (!p.path.startsWith('/')) out.push(paramProblem('path', `must be absolute, got '${p.path}'`));
    if (Object.keys(p.settings).length === 0) out.push(paramProblem('settings', 'name at least one qemu.conf key'));
    for (const [k, v] of Object.entries(p.settings)) {
      if (!KEY_RE.test(k)) out.push(paramProblem(`settings.${k}`, `not a qemu.conf key name`));
      else if (INT_KEY.test(k) && typeof v !== 'number' && typeof v !== 'boolean') out.push(paramProblem(`settings.${k}`, `libvirt reads an integer here, got ${JSON.stringify(v)} (write it without quotes)`));
      else if (STR_KEY.test(k) && typeof v !== 'string') out.push(paramProblem(`settings.${k}`, `libvirt reads a string here, got ${JSON.stringify(v)}`));
    }
    const min = p.settings.migration_port_min;
    const max = p.settings.migration_port_max;
    if (typeof min === 'number' && typeof max === 'number' && min > max) out.push(paramProblem('settings', `migration_port_min (${min}) is above migration_port_max (${max})`));
    return out;
  },

  // Step one, the file, as a probe; the certificate check too when the parameters alone settle
  // which directory and files it checks (cluster-tune names both), else readMore does it after.
  probe(p, h): Probe<QemuConfState> {
    const sections = [{ name: 'conf', cmd: sh`if [ -e ${p.path} ]; then echo present; cat -- ${p.path}; else echo absent; fi` }];
    const early = p.verify_certs ? certInput(new Map(), p) : undefined;
    // (a subshell: the script ends with `exit`)
    if (early?.settled) sections.push({ name: 'certs', cmd: `(\n${certScript(early.input)}\n)` });
    return {
      script: markedScript(sections),
      parse(r) {
        const out = parseMarked(r.stdout);
        const conf = out.conf;
        if (!conf || conf.rc !== 0) throw new CommandFailedError(h.hostName, `read ${p.path}`, conf?.rc ?? r.code, conf?.text ?? r.stderr);
        const exists = conf.text.startsWith('present\n');
        const text = exists ? conf.text.slice('present\n'.length) : '';
        const entries = parseConf(text);
        const state: QemuConfState = { exists, text, entries, certFiles: certInput(entries, p).input.files };
        const certs = out.certs;
        if (certs && certs.rc !== 0) throw new CommandFailedError(h.hostName, 'migration TLS certificate check', certs.rc, certs.text);
        if (certs) state.certs = parseCertReport(certs.text);
        return state;
      },
    };
  },

  // Step two, when the probe could not check the certificates: their paths come from the file.
  async readMore(ctx, p, state) {
    if (!p.verify_certs || state.certs) return state;
    const r = await ctx.host.run(certScript(certInput(state.entries, p).input));
    if (r.code !== 0) throw new CommandFailedError(ctx.hostName, 'migration TLS certificate check', r.code, r.stderr, r.signal);
    return { ...state, certs: parseCertReport(r.stdout) };
  },

  diff(s, p): DiffResult<FileTarget> {
    const changes: Change<FileTarget>[] = [];
    for (const [key, want] of Object.entries(p.settings)) {
      const cur = s.entries.get(key);
      if (cur && sameValue(cur.value, want)) continue;
      changes.push(fileChange(p.path, { facet: 'content', key }, { from: cur ? (cur.value === undefined ? cur.raw : show(cur.value)) : undefined, to: show(want) }));
    }
    if (changes.length > 0) {
      // The whole-file diff rides on the first change so that --diff prints it once.
      changes[0] = { ...changes[0], before: s.text, after: setKeys(s.text, p.settings) };
    }
    const failures = s.certs ? certFindings(s.certs, s.certFiles, p.cert_min_days) : [];
    return { changes, failures };
  },

  // One write: the engine sends it with the re-read (the certificate check included) in one exec.
  applySteps(p, _changes, s) {
    // A new qemu.conf gets Debian's mode (it may hold secrets such as vnc_password).
    return { steps: [{ write: p.path, content: setKeys(s.text, p.settings), opts: { backup: true, ...(s.exists ? {} : { mode: '0600' }) } }] };
  },

  result(s, p) {
    const values: Record<string, unknown> = {};
    for (const k of Object.keys(p.settings)) values[k] = s.entries.get(k)?.value;
    return { path: p.path, values, cert_dir: s.certs?.dir };
  },
};
