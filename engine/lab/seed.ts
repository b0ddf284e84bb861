// What makes a lab host look like a fresh Debian hypervisor to the tuning playbook: Debian's
// stock qemu.conf, and migration TLS certificates from a lab CA (server cert with the host's
// migration address as SAN, client cert, keys 0600), so qemu_conf's certificate checks pass for real.
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rootPath } from '../paths.js';
import { runLocalOk } from './exec.js';
import type { LabHost, LabInfo } from './types.js';

const CERT_DIR = 'pki/libvirt-migrate';
const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function ensureCa(openssl: string, info: LabInfo): Promise<string> {
  const ca = join(info.dir, 'ca');
  if (existsSync(join(ca, 'ca-cert.pem')) && existsSync(join(ca, 'ca-key.pem'))) return ca;
  await mkdir(ca, { recursive: true, mode: 0o700 });
  await runLocalOk(openssl, ['req', '-x509', ...EC, '-keyout', join(ca, 'ca-key.pem'), '-out', join(ca, 'ca-cert.pem'), '-days', '3650', '-subj', `/CN=play lab ${info.name} CA`]);
  return ca;
}

async function issue(openssl: string, ca: string, dir: string, kind: 'server' | 'client', host: LabHost): Promise<void> {
  const key = join(dir, `${kind}-key.pem`);
  const csr = join(dir, `${kind}.csr`);
  const ext = join(dir, `${kind}.ext`);
  await writeFile(ext, `subjectAltName=IP:${host.migrationIp},DNS:${host.name}\nextendedKeyUsage=${kind === 'server' ? 'serverAuth,clientAuth' : 'clientAuth'}\n`);
  await runLocalOk(openssl, ['req', ...EC, '-keyout', key, '-out', csr, '-subj', `/CN=${host.name}`]);
  await runLocalOk(openssl, ['x509', '-req', '-in', csr, '-CA', join(ca, 'ca-cert.pem'), '-CAkey', join(ca, 'ca-key.pem'), '-CAcreateserial', '-out', join(dir, `${kind}-cert.pem`), '-days', '825', '-extfile', ext]);
  await chmod(key, 0o600);
  await rm(csr, { force: true });
  await rm(ext, { force: true });
}

/** Seeds what is missing; never overwrites what a test or the playbook changed. */
export async function seedHost(openssl: string | undefined, info: LabInfo, host: LabHost): Promise<void> {
  const etc = join('/etc/netns', host.ns);
  const qemuConf = join(etc, 'libvirt', 'qemu.conf');
  if (!existsSync(qemuConf)) await copyFile(rootPath('templates', 'lab', 'qemu.conf'), qemuConf);
  if (!openssl) return; // the requirements check already said openssl is missing
  const dir = join(etc, CERT_DIR);
  if (existsSync(join(dir, 'client-cert.pem'))) return;
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const ca = await ensureCa(openssl, info);
  await copyFile(join(ca, 'ca-cert.pem'), join(dir, 'ca-cert.pem'));
  await issue(openssl, ca, dir, 'server', host);
  await issue(openssl, ca, dir, 'client', host);
}
