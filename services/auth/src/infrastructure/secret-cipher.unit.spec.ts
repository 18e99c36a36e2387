import { randomBytes } from 'node:crypto';
import { keyIdOf, parseMasterKey, SecretCipher, secretContext, SecretUnreadable } from './secret-cipher';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ctx = secretContext('alice', 'gh');

describe('SecretCipher', () => {
  it('opens what it sealed, and the ciphertext does not contain the plaintext', () => {
    const cipher = new SecretCipher(keyA);
    const sealed = cipher.seal('ghp_s3cr3t-value', ctx);
    expect(sealed.keyId).toBe(keyIdOf(keyA));
    expect(sealed.ciphertext.includes(Buffer.from('ghp_s3cr3t-value'))).toBe(false);
    expect(cipher.open(sealed, ctx)).toBe('ghp_s3cr3t-value');
  });

  it('uses a fresh nonce per value: the same plaintext seals differently each time', () => {
    const cipher = new SecretCipher(keyA);
    const one = cipher.seal('same', ctx);
    const two = cipher.seal('same', ctx);
    expect(one.nonce.length).toBe(12);
    expect(one.nonce.equals(two.nonce)).toBe(false);
    expect(one.ciphertext.equals(two.ciphertext)).toBe(false);
  });

  it('keeps multi-byte text intact', () => {
    const cipher = new SecretCipher(keyA);
    expect(cipher.open(cipher.seal('päss wörd ✓ 🔑\nline 2', ctx), ctx)).toBe('päss wörd ✓ 🔑\nline 2');
  });

  it('refuses a value moved to another owner or name', () => {
    const cipher = new SecretCipher(keyA);
    const sealed = cipher.seal('v', ctx);
    expect(() => cipher.open(sealed, secretContext('mallory', 'gh'))).toThrow(SecretUnreadable);
    expect(() => cipher.open(sealed, secretContext('alice', 'npm'))).toThrow(SecretUnreadable);
  });

  it('refuses a tampered ciphertext or nonce', () => {
    const cipher = new SecretCipher(keyA);
    const sealed = cipher.seal('value', ctx);
    const flipped = Buffer.from(sealed.ciphertext);
    flipped[0] = (flipped[0] ?? 0) ^ 1;
    expect(() => cipher.open({ ...sealed, ciphertext: flipped }, ctx)).toThrow(/does not authenticate/);
    const nonce = Buffer.from(sealed.nonce);
    nonce[0] = (nonce[0] ?? 0) ^ 1;
    expect(() => cipher.open({ ...sealed, nonce }, ctx)).toThrow(SecretUnreadable);
  });

  describe('when the master key is rotated', () => {
    it('opens values sealed with a previous key and seals new ones with the current key', () => {
      const old = new SecretCipher(keyA).seal('from before', ctx);
      const rotated = new SecretCipher(keyB, [keyA]);
      expect(rotated.isStale(old)).toBe(true);
      expect(rotated.open(old, ctx)).toBe('from before');
      const fresh = rotated.seal('new', ctx);
      expect(fresh.keyId).toBe(keyIdOf(keyB));
      expect(rotated.isStale(fresh)).toBe(false);
    });

    it('names the missing key, not the value, when the old key was dropped', () => {
      const old = new SecretCipher(keyA).seal('from before', ctx);
      let message = '';
      try {
        new SecretCipher(keyB).open(old, ctx);
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message).toContain(keyIdOf(keyA));
      expect(message).toContain('SECRETS_PREVIOUS_MASTER_KEYS');
      expect(message).not.toContain('from before');
    });
  });
});

describe('parseMasterKey', () => {
  it('accepts 32 bytes in standard or url-safe base64', () => {
    const key = randomBytes(32);
    expect(parseMasterKey(key.toString('base64')).equals(key)).toBe(true);
    expect(parseMasterKey(`${key.toString('base64url')}\n`).equals(key)).toBe(true);
  });

  it.each([
    ['too short', randomBytes(16).toString('base64')],
    ['too long', randomBytes(48).toString('base64')],
    ['not base64', 'x'.repeat(43) + '!'],
    ['a passphrase', 'correct horse battery staple'],
  ])('refuses a key that is %s, with a message that does not repeat it', (_, text) => {
    let message = '';
    try {
      parseMasterKey(text);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/32 random bytes in base64/);
    expect(message).not.toContain(text);
  });
});
