import { SecretMasker } from './secret-masker';

/** Feeds `pieces` through a masker and returns everything it released, flush included. */
function run(values: string[], pieces: string[]): string {
  const masker = new SecretMasker(values);
  return pieces.map((p) => masker.push(p)).join('') + masker.flush();
}

/** A small seeded PRNG, so a failing split can be reproduced. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('SecretMasker', () => {
  it('replaces every occurrence of a value in one piece', () => {
    expect(run(['hunter22'], ['token=hunter22; again hunter22\r\n'])).toBe('token=***; again ***\r\n');
  });

  it('masks a value split across pieces, however it is cut', () => {
    const secret = 'ghp_0123456789abcdef';
    const text = `before ${secret} after`;
    for (let cut = 0; cut <= text.length; cut++) {
      for (let cut2 = cut; cut2 <= text.length; cut2 += 3) {
        expect(run([secret], [text.slice(0, cut), text.slice(cut, cut2), text.slice(cut2)])).toBe('before *** after');
      }
    }
  });

  it('holds back only a tail that could still become a secret, and releases it when it does not', () => {
    const masker = new SecretMasker(['secret-value']);
    expect(masker.push('output then secr')).toBe('output then ');
    expect(masker.push('ecy stuff')).toBe('secrecy stuff');
    expect(masker.push('all done')).toBe('all done');
    expect(masker.flush()).toBe('');
  });

  it('masks a held partial value at the end of the output only if it is whole', () => {
    expect(run(['secret-value'], ['ends with secret-val'])).toBe('ends with secret-val');
    expect(run(['secret-value'], ['ends with secret-value'])).toBe('ends with ***');
  });

  it('masks the longer of two values that share a start, even when the shorter one arrives first', () => {
    expect(run(['abcd', 'abcdefgh'], ['x abcd', 'efgh y abcd z'])).toBe('x *** y *** z');
  });

  it('does not let a complete short value inside a longer one release the longer one’s start', () => {
    expect(run(['XYZW', 'abXYZWQR'], ['--abXYZW', 'QR--'])).toBe('--***--');
  });

  it('masks a multi-line value as the PTY prints it (CRLF) and line by line', () => {
    const pem = '-----BEGIN KEY-----\nAAAABBBBCCCC\n-----END KEY-----';
    expect(run([pem], ['-----BEGIN KEY-----\r\nAAAABBBBCCCC\r\n-----END KEY-----\r\n'])).toBe('***\r\n');
    expect(run([pem], ['the middle: AAAABBBBCCCC\r\n'])).toBe('the middle: ***\r\n');
  });

  it('treats regular-expression characters in a value literally', () => {
    expect(run(['a.b*c+(d)'], ['a.b*c+(d) aXbbbc+(d)'])).toBe('*** aXbbbc+(d)');
  });

  it('leaves output untouched when there is nothing to mask, and does not mask very short values', () => {
    const masker = new SecretMasker(['', 'abc']);
    expect(masker.idle).toBe(true);
    expect(masker.push('abc abc')).toBe('abc abc');
  });

  it('never releases a secret, for random texts cut at random places', () => {
    const random = prng(42);
    const secrets = ['s3cr3t-T0K3N', 'tok', 'aaaaab', 'ghp_x'];
    const alphabet = ['s3cr3t-T0K3N', 'aaaaab', 'ghp_x', 'a', 'b', 's3c', 'ghp', ' ', '\r\n', 'x', 'aaaa'];
    for (let round = 0; round < 300; round++) {
      const parts = Array.from({ length: 1 + Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]!);
      const text = parts.join('');
      const pieces: string[] = [];
      for (let at = 0; at < text.length;) {
        const size = 1 + Math.floor(random() * 7);
        pieces.push(text.slice(at, at + size));
        at += size;
      }
      const out = run(secrets, pieces);
      expect(out).toBe(run(secrets, [text]));
      for (const secret of secrets.filter((s) => s.length >= 4)) expect(out).not.toContain(secret);
    }
  });
});
