// The lab guest's kernel and initramfs, built once and cached under /var/cache/play-lab: Debian's
// cloud kernel taken from its package without installing it, and a busybox-static initramfs.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PlayError } from '../errors.js';
import { shQuote } from '../connection/quote.js';
import { runLocal, runLocalOk } from './exec.js';
import { initScript, qemuWrapperScript } from './guest-spec.js';

export const GUEST_CACHE = '/var/cache/play-lab';
const APPLETS = ['sh', 'mount', 'dd', 'sleep', 'cat', 'mkdir', 'mv'];

async function freshDir(tag: string): Promise<string> {
  const dir = join(GUEST_CACHE, `.tmp-${tag}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The package linux-image-cloud-amd64 depends on (the versioned kernel image). */
async function kernelPackage(): Promise<string> {
  const out = await runLocalOk('apt-cache', ['depends', 'linux-image-cloud-amd64']);
  const m = /Depends:\s*(linux-image-[^\s]+)/.exec(out);
  if (!m) throw new PlayError('lab guest: apt-cache does not know linux-image-cloud-amd64 (run apt-get update)');
  return m[1];
}

export async function ensureKernel(): Promise<string> {
  const target = join(GUEST_CACHE, 'vmlinuz');
  if (existsSync(target)) return target;
  const tmp = await freshDir('kernel');
  try {
    const pkg = await kernelPackage();
    let r = await runLocal('sh', ['-c', `cd ${shQuote(tmp)} && apt-get download -q ${shQuote(pkg)}`]);
    if (r.code !== 0) {
      await runLocal('apt-get', ['update', '-qq']); // stale lists: the version may be gone from the mirror
      r = await runLocal('sh', ['-c', `cd ${shQuote(tmp)} && apt-get download -q ${shQuote(pkg)}`]);
    }
    if (r.code !== 0) throw new PlayError(`lab guest: apt-get download ${pkg} failed: ${r.stderr.trim()}`);
    const deb = (await readdir(tmp)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new PlayError(`lab guest: apt-get download ${pkg} left no .deb`);
    await runLocalOk('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'x')]);
    const vmlinuz = (await readdir(join(tmp, 'x', 'boot'))).find((f) => f.startsWith('vmlinuz-'));
    if (!vmlinuz) throw new PlayError(`lab guest: ${deb} has no boot/vmlinuz-*`);
    await copyFile(join(tmp, 'x', 'boot', vmlinuz), `${target}.tmp`);
    await writeFile(join(GUEST_CACHE, 'vmlinuz.version'), `${vmlinuz} from ${deb}\n`);
    await rename(`${target}.tmp`, target);
    return target;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Named by a hash of /init and busybox: a changed dirtier gets a new image, old guests keep theirs. */
export async function ensureInitramfs(): Promise<string> {
  const busybox = '/bin/busybox';
  if (!existsSync(busybox)) throw new PlayError('lab guest: /bin/busybox missing: install busybox-static');
  const init = initScript();
  const hash = createHash('sha256').update(init).update(readFileSync(busybox)).digest('hex').slice(0, 12);
  const target = join(GUEST_CACHE, `initramfs-${hash}.cpio.gz`);
  if (existsSync(target)) return target;
  const tmp = await freshDir('initramfs');
  try {
    const root = join(tmp, 'root');
    for (const d of ['bin', 'dev', 'proc', 'sys', 'run']) await mkdir(join(root, d), { recursive: true });
    await copyFile(busybox, join(root, 'bin', 'busybox'));
    for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
    await writeFile(join(root, 'init'), init);
    await chmod(join(root, 'init'), 0o755);
    // The kernel opens /dev/console for init before devtmpfs is mounted.
    await runLocalOk('mknod', ['-m', '600', join(root, 'dev', 'console'), 'c', '5', '1']);
    await runLocalOk('sh', ['-c', `cd ${shQuote(root)} && find . | cpio -o -H newc --quiet | gzip -1 > ${shQuote(`${target}.tmp`)}`]);
    await rename(`${target}.tmp`, target);
    return target;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export const SYSTEM_QEMU = '/usr/bin/qemu-system-x86_64';

/**
 * The QEMU wrapper lab guests run under (see qemuWrapperScript: QEMU 7.2 loses TCG writes during
 * a migration unless the guest's RAM is not a multiple of 256 KiB). Named by a hash of its text,
 * so a guest keeps the wrapper it was defined with; the same path on every host (one filesystem).
 */
export async function ensureQemuWrapper(): Promise<string> {
  if (!existsSync(SYSTEM_QEMU)) throw new PlayError(`lab guest: ${SYSTEM_QEMU} missing: install qemu-system-x86`);
  const text = qemuWrapperScript(SYSTEM_QEMU);
  const target = join(GUEST_CACHE, `qemu-tcg-${createHash('sha256').update(text).digest('hex').slice(0, 12)}`);
  if (existsSync(target)) return target;
  await mkdir(GUEST_CACHE, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  await writeFile(tmp, text);
  await chmod(tmp, 0o755);
  await rename(tmp, target);
  return target;
}

export async function ensureGuestImage(): Promise<{ kernel: string; initrd: string; emulator: string }> {
  await mkdir(GUEST_CACHE, { recursive: true });
  const [kernel, initrd, emulator] = await Promise.all([ensureKernel(), ensureInitramfs(), ensureQemuWrapper()]);
  return { kernel, initrd, emulator };
}
