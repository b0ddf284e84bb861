// What the benchmark needs on the machine: GNU time always, Debian's Ansible (with the
// ansible.posix collection for sysctl) for the Ansible sections. Installed with apt when missing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const POSIX_COLLECTION = '/usr/lib/python3/dist-packages/ansible_collections/ansible/posix';

export function ensureTools(want: { ansible: boolean }): { installed: string[]; ansibleVersion?: string } {
  const missing: string[] = [];
  if (!existsSync('/usr/bin/time')) missing.push('time');
  if (want.ansible && (!existsSync('/usr/bin/ansible-playbook') || !existsSync(POSIX_COLLECTION))) missing.push('ansible');
  if (missing.length > 0) {
    if (process.getuid?.() !== 0) throw new Error(`missing ${missing.join(', ')}: run as root or apt-get install -y ${missing.join(' ')}`);
    process.stderr.write(`bench: apt-get install -y ${missing.join(' ')}\n`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const install = () => spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing], { stdio: 'inherit', env }).status;
    if (install() !== 0) {
      execFileSync('apt-get', ['update'], { stdio: 'inherit', env });
      if (install() !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed`);
    }
  }
  let ansibleVersion: string | undefined;
  try { ansibleVersion = /core ([\d.]+)/.exec(execFileSync('ansible', ['--version'], { encoding: 'utf8' }))?.[1]; } catch { /* not installed */ }
  return { installed: missing, ansibleVersion };
}
