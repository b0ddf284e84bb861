// Migration TLS certificate checks: one sh script run on the host (one round trip) that prints
// `@@play` sections, a pure parser of those sections, and the findings drawn from them.
import { shQuote } from '../../engine/connection/quote.js';

export const CA = 'ca-cert.pem';
export const SERVER_FILES = [CA, 'server-cert.pem', 'server-key.pem'];
export const CLIENT_FILES = ['client-cert.pem', 'client-key.pem'];
/** libvirt uses this directory for migration when it exists and no dir is configured. */
export const MIGRATE_DEFAULT_DIR = '/etc/pki/libvirt-migrate';
export const QEMU_DEFAULT_DIR = '/etc/pki/qemu';

export interface CertScriptInput {
  /** migrate_tls_x509_cert_dir when set; else libvirt's fallback is resolved on the host. */
  dir?: string;
  /** default_tls_x509_cert_dir (set or /etc/pki/qemu). */
  defaultDir: string;
  files: string[];
  minDays: number;
}

/** The one-round-trip script. Key contents are never printed: only exit codes and public-key hashes. */
export function certScript(inp: CertScriptInput): string {
  const secs = Math.max(0, Math.round(inp.minDays * 86400));
  const lines = [
    inp.dir !== undefined
      ? `d=${shQuote(inp.dir)}`
      : `if [ -d ${shQuote(MIGRATE_DEFAULT_DIR)} ]; then d=${shQuote(MIGRATE_DEFAULT_DIR)}; else d=${shQuote(inp.defaultDir)}; fi`,
    'echo "@@play now $(date +%s)"',
    'echo "@@play dir $d"',
    'command -v openssl >/dev/null 2>&1 || echo "@@play no-openssl"',
    `for f in ${inp.files.map(shQuote).join(' ')}; do`,
    '  p="$d/$f"',
    '  if [ ! -e "$p" ]; then echo "@@play missing $f"; continue; fi',
    '  echo "@@play stat $f $(stat -c \'%a %U %G\' -- "$p")"',
    '  case "$f" in',
    '  *-cert.pem)',
    '    out=$(openssl x509 -noout -enddate -in "$p" 2>&1); echo "@@play x509 $f $?"; printf \'%s\\n\' "$out"',
    `    openssl x509 -noout -checkend ${secs} -in "$p" >/dev/null 2>&1; echo "@@play checkend $f $?"`,
    '    h=$(openssl x509 -noout -pubkey -in "$p" 2>/dev/null | openssl sha256 2>/dev/null); echo "@@play pub $f ${h##* }"',
    `    if [ "$f" != ${shQuote(CA)} ] && [ -e "$d/${CA}" ]; then`,
    `      out=$(openssl verify -CAfile "$d/${CA}" "$p" 2>&1); echo "@@play verify $f $?"; printf '%s\\n' "$out"`,
    '    fi ;;',
    '  *-key.pem)',
    '    openssl pkey -noout -in "$p" >/dev/null 2>&1; echo "@@play key $f $?"',
    '    h=$(openssl pkey -pubout -in "$p" 2>/dev/null | openssl sha256 2>/dev/null); echo "@@play pub $f ${h##* }" ;;',
    '  esac',
    'done',
    'exit 0',
  ];
  return lines.join('\n');
}

export interface CertFile {
  name: string;
  exists: boolean;
  /** Octal permission bits as `stat %a` prints them, e.g. '644'. */
  mode?: string;
  owner?: string;
  group?: string;
  x509Rc?: number;
  notAfter?: string;
  checkendRc?: number;
  verifyRc?: number;
  verifyOut?: string;
  keyRc?: number;
  /** sha256 of the public key (cert or key), to tell whether a key matches its certificate. */
  pub?: string;
}

export interface CertReport {
  now?: number;
  dir?: string;
  noOpenssl: boolean;
  files: Map<string, CertFile>;
}

/** Pure parser of the script's output. */
export function parseCertReport(stdout: string): CertReport {
  const rep: CertReport = { noOpenssl: false, files: new Map() };
  const file = (name: string): CertFile => {
    let f = rep.files.get(name);
    if (!f) rep.files.set(name, (f = { name, exists: true }));
    return f;
  };
  let body: string[] | undefined;
  let bodyOf: { f: CertFile; kind: string } | undefined;
  const endBody = () => {
    if (body && bodyOf) {
      const text = body.join('\n').trim();
      if (bodyOf.kind === 'x509') bodyOf.f.notAfter = /^notAfter=(.*)$/m.exec(text)?.[1]?.trim();
      else bodyOf.f.verifyOut = text;
    }
    body = undefined;
    bodyOf = undefined;
  };
  for (const line of stdout.split('\n')) {
    const m = /^@@play (\S+)(?: (.*))?$/.exec(line);
    if (!m) {
      body?.push(line);
      continue;
    }
    endBody();
    const [kind, rest = ''] = [m[1], m[2]];
    const words = rest.split(' ');
    const rc = Number(words[1]);
    switch (kind) {
      case 'now':
        rep.now = Number(rest);
        break;
      case 'dir':
        rep.dir = rest;
        break;
      case 'no-openssl':
        rep.noOpenssl = true;
        break;
      case 'missing':
        file(words[0]).exists = false;
        break;
      case 'stat': {
        const f = file(words[0]);
        [f.mode, f.owner, f.group] = [words[1], words[2], words[3]];
        break;
      }
      case 'x509':
        file(words[0]).x509Rc = rc;
        body = [];
        bodyOf = { f: file(words[0]), kind };
        break;
      case 'checkend':
        file(words[0]).checkendRc = rc;
        break;
      case 'verify':
        file(words[0]).verifyRc = rc;
        body = [];
        bodyOf = { f: file(words[0]), kind };
        break;
      case 'key':
        file(words[0]).keyRc = rc;
        break;
      case 'pub':
        // The hash of nothing means openssl could not read the file: no public key to compare.
        if (/^[0-9a-f]{64}$/.test(words[1] ?? '') && words[1] !== EMPTY_SHA256) file(words[0]).pub = words[1];
        break;
    }
  }
  endBody();
  return rep;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** openssl's `notAfter=Nov 24 08:20:00 2025 GMT` → epoch seconds. */
export function parseOpensslDate(s: string): number | undefined {
  const m = /^([A-Z][a-z]{2})\s+(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(s.trim());
  if (!m) return undefined;
  const mon = MONTHS.indexOf(m[1]);
  if (mon < 0) return undefined;
  return Date.UTC(Number(m[6]), mon, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) / 1000;
}

/** The first line of openssl verify's complaint, e.g. `error 20 at 0 depth lookup: unable to get local issuer certificate`. */
function verifyReason(out: string | undefined): string {
  const line = (out ?? '').split('\n').find((l) => /^error \d+ at/.test(l));
  return line ? `: ${line.replace(/^error \d+ at \d+ depth lookup: /, '')}` : '';
}

/** Each problem as one named finding. `files` lists what must be there (client files only with verify on). */
export function certFindings(rep: CertReport, files: string[], minDays: number): string[] {
  const where = rep.dir ? ` (in ${rep.dir})` : '';
  if (rep.noOpenssl) return [`openssl is not installed on the host: cannot check the migration TLS certificates${where}`];
  const out: string[] = [];
  for (const name of files) {
    const f = rep.files.get(name);
    if (!f || !f.exists) {
      out.push(`${name} is missing${where}`);
      continue;
    }
    if (name.endsWith('-key.pem')) {
      const mode = parseInt(f.mode ?? '0', 8);
      if (mode & 0o004) out.push(`${name} is world-readable (0${(mode & 0o777).toString(8)}): chmod 0600${where}`);
      if (f.keyRc !== 0) out.push(`${name} is not a readable private key${where}`);
      continue;
    }
    if (f.x509Rc !== 0) {
      out.push(`${name} does not parse as an X.509 certificate${where}`);
      continue;
    }
    if (f.checkendRc !== 0) {
      const end = f.notAfter ? parseOpensslDate(f.notAfter) : undefined;
      const days = end !== undefined && rep.now !== undefined ? Math.round((end - rep.now) / 86400) : undefined;
      if (days === undefined) out.push(`${name} expires within ${minDays} days${where}`);
      else if (end! <= rep.now!) out.push(`${name} has expired (${f.notAfter})${where}`);
      else out.push(`${name} expires in ${days} days (< ${minDays})${where}`);
    }
    if (name !== CA && f.verifyRc !== undefined && f.verifyRc !== 0) out.push(`${name} does not chain to ${CA}${verifyReason(f.verifyOut)}${where}`);
  }
  // A key that belongs to another certificate fails the TLS handshake just the same.
  for (const role of ['server', 'client']) {
    const cert = rep.files.get(`${role}-cert.pem`);
    const key = rep.files.get(`${role}-key.pem`);
    if (!files.includes(`${role}-key.pem`) || !cert?.pub || !key?.pub) continue;
    if (cert.pub !== key.pub) out.push(`${role}-key.pem does not match ${role}-cert.pem${where}`);
  }
  return out;
}
