// Which Debian packages are missing, from dpkg-query's real output (a removed package keeps
// its conffiles: "rc", not installed; unknown names print nothing).
import assert from 'node:assert/strict';
import { installAllowedByEnv, notInstalled } from '../../engine/lab/packages.js';

describe('lab packages', () => {
  // dpkg-query -W -f='${binary:Package}\t${db:Status-Abbrev}\n' ethtool sl iproute2 iputils-ping libc6
  const captured = 'ethtool\tii \niproute2\tii \niputils-ping\trc \nlibc6:amd64\tii \n';

  it('counts only fully installed packages (ii), arch-qualified names included', () => {
    assert.deepEqual(notInstalled(['ethtool', 'sl', 'iproute2', 'iputils-ping', 'libc6'], captured), ['sl', 'iputils-ping']);
    assert.deepEqual(notInstalled(['ethtool'], ''), ['ethtool']);
  });

  it('PLAY_NO_INSTALL refuses unless empty or 0', () => {
    assert.equal(installAllowedByEnv({}), true);
    assert.equal(installAllowedByEnv({ PLAY_NO_INSTALL: '' }), true);
    assert.equal(installAllowedByEnv({ PLAY_NO_INSTALL: '0' }), true);
    assert.equal(installAllowedByEnv({ PLAY_NO_INSTALL: '1' }), false);
    assert.equal(installAllowedByEnv({ PLAY_NO_INSTALL: 'yes' }), false);
  });
});
