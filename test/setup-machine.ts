// `npm test` step one: the Debian packages the suite needs, installed when missing (a fresh
// Debian 12 machine passes the README's test command). PLAY_NO_INSTALL=1 refuses and names them.
import { ensureDebianPackages } from '../engine/lab/packages.js';
import { LAB_PACKAGES, LIBVIRT_LAB_PACKAGES } from '../engine/lab/requirements.js';
import { PlayError } from '../engine/errors.js';

/** Beyond the lab: become (sudo) and the real consumers the reports are checked against. */
export const TEST_PACKAGES = [
  ...LAB_PACKAGES,
  ...LIBVIRT_LAB_PACKAGES, // the KVM lab: migration tests run on real libvirt hosts
  'sudo', // become tests
  'ansible-core', // ansible-inventory: the reference for `play inventory`, and the bench's rival
  'prometheus', // promtool checks the textfile report
  'libxml2-utils', // xmllint validates the JUnit report against its XSD
  'python3-junitparser', // a real JUnit consumer
  'systemd', // systemd-analyze verifies the scheduled units
];

try {
  await ensureDebianPackages(TEST_PACKAGES, 'the test suite', { log: (l) => console.log(l) });
} catch (e) {
  if (!(e instanceof PlayError)) throw e;
  console.error(e.message);
  process.exitCode = 1;
}
