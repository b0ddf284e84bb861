// signingWithKeyObject: a key signs with a KeyObject decoded once instead of ssh2's PEM text per
// signature; the signatures must be the ones ssh2's own sign makes (same algorithm, same default),
// checked by ssh2's own verify for every key type the engine can be given.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import ssh2 from 'ssh2';
import { signingWithKeyObject } from '../../engine/connection/ssh.js';

const { utils } = ssh2;

function parsed(type: 'ed25519' | 'rsa' | 'ecdsa', opts: Record<string, unknown> = {}) {
  const pair = utils.generateKeyPairSync(type, opts as never);
  const priv = utils.parseKey(pair.private);
  const pub = utils.parseKey(pair.public);
  if (priv instanceof Error || pub instanceof Error) throw new Error('key did not parse');
  return { priv, pub, again: () => utils.parseKey(pair.private) as typeof priv };
}

describe('ssh: signing with a KeyObject', () => {
  const data = randomBytes(200);
  const cases: Array<[string, 'ed25519' | 'rsa' | 'ecdsa', Record<string, unknown>, Array<string | undefined>]> = [
    ['ed25519', 'ed25519', {}, [undefined]],
    ['rsa (default sha1, rsa-sha2-256, rsa-sha2-512)', 'rsa', { bits: 2048 }, [undefined, 'sha256', 'sha512']],
    ['ecdsa p256', 'ecdsa', { bits: 256 }, [undefined]],
    ['ecdsa p384', 'ecdsa', { bits: 384 }, [undefined]],
  ];
  for (const [name, type, opts, algos] of cases) {
    it(`${name}: ssh2 verifies the signature`, () => {
      const k = parsed(type, opts);
      const fast = signingWithKeyObject(k.again());
      assert.notEqual(fast.sign, k.priv.sign, 'sign was replaced');
      for (const algo of algos) {
        const sig = fast.sign(data, algo);
        assert.ok(Buffer.isBuffer(sig), `signature with ${algo ?? 'the default hash'}`);
        assert.equal(k.pub.verify(data, sig, algo), true, `verifies with ${algo ?? 'the default hash'}`);
        if (type !== 'ecdsa') assert.deepEqual(sig, k.priv.sign(data, algo), 'same bytes as ssh2 signs (deterministic schemes)');
      }
    });
  }

  it('an unusable algorithm comes back as an Error, like ssh2 (not a throw)', () => {
    const fast = signingWithKeyObject(parsed('rsa', { bits: 2048 }).again());
    assert.ok(fast.sign(data, 'no-such-hash') instanceof Error);
  });

  it('a public key (no private PEM) is left as is', () => {
    const k = parsed('ed25519');
    assert.equal(signingWithKeyObject(k.pub).sign, k.pub.sign);
  });
});
