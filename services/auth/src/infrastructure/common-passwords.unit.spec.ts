import { DomainError } from '@agentyard/contracts';
import { isCommonPassword, refuseCommonPassword } from './common-passwords';

describe('common passwords (OWASP ASVS 5.0 V6.2.4)', () => {
  it.each(['password', 'Password1', 'qwertyuiop', '12345678', 'iloveyou2', 'SUPERMAN1'])('refuses %s', (pw) => {
    expect(isCommonPassword(pw)).toBe(true);
  });

  it.each(['correct horse battery', 'a brand new secret', 'Zx7!kq_2Lm9'])('accepts %s', (pw) => {
    expect(isCommonPassword(pw)).toBe(false);
  });

  it('answers a 400 naming the field', () => {
    expect(() => refuseCommonPassword('password1', 'newPassword')).toThrow(DomainError);
    try {
      refuseCommonPassword('password1', 'newPassword');
    } catch (e) {
      expect((e as DomainError).code).toBe('VALIDATION_FAILED');
      expect((e as DomainError).details).toEqual([{ field: 'newPassword', message: expect.stringMatching(/most common passwords/) }]);
    }
  });
});
