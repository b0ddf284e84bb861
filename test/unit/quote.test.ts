import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { sh, shJoin, shQuote } from '../../engine/connection/quote.js';

// Round-trip through a real POSIX sh (dash on Debian): what we quote is what the command sees.
function echoThroughSh(cmd: string): string {
  const r = spawnSync('/bin/sh', ['-c', cmd], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

describe('shQuote', () => {
  const hostile = ["plain", "with space", "it's", "$(touch /tmp/pwned)", "`id`", "a\nb", "*", "", "--flag", "back\\slash", "\"dq\"", "semi;colon", "tab\there", "é ü"];
  for (const value of hostile) {
    it(`passes ${JSON.stringify(value)} through sh unchanged`, () => {
      assert.equal(echoThroughSh(`printf '%s' ${shQuote(value)}`), value);
    });
  }
  it('leaves safe words bare and refuses NUL', () => {
    assert.equal(shQuote('eth1'), 'eth1');
    assert.equal(shQuote(9000), '9000');
    assert.throws(() => shQuote('a\0b'));
  });
  it('sh`` quotes every interpolation, arrays as several words', () => {
    assert.equal(sh`ip link set dev ${'eth 1'} mtu ${9000}`, `ip link set dev 'eth 1' mtu 9000`);
    assert.equal(shJoin(['a', "b'c"]), `a 'b'\\''c'`);
    assert.equal(echoThroughSh(sh`printf '%s|' ${['x y', "'"]}`), "x y|'|");
  });
});
