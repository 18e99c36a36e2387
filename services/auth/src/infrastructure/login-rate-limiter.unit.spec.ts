import { accountKey } from './login-rate-limiter';

describe('accountKey', () => {
  const ada = { id: '01900000-0000-7000-8000-00000000ada0' };

  it('is the user for every name that resolves to them: username, email, any case', () => {
    expect(accountKey(ada, 'ada')).toBe(accountKey(ada, 'ada@example.com'));
    expect(accountKey(ada, 'ADA')).toBe(accountKey(ada, 'Ada@Example.com'));
  });

  it('is the normalised name when it resolves to nobody, so case variants of it count together', () => {
    expect(accountKey(undefined, 'Nobody')).toBe(accountKey(undefined, ' nobody '));
    expect(accountKey(undefined, 'ｎｏｂｏｄｙ')).toBe(accountKey(undefined, 'nobody')); // full-width letters (NFKC)
    expect(accountKey(undefined, 'nobody')).not.toBe(accountKey(ada, 'nobody'));
  });
});
