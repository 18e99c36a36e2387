import { DomainError, maxSecretsPerUser } from '@agentyard/contracts';
import { decideResolution, decideSecret, missingSecrets, type SecretCommand, type SecretFacts } from './secret.decide';

const given = (facts: SecretFacts) => ({
  when: (command: SecretCommand) => ({
    then: (type: string) => expect(decideSecret(command, facts)).toEqual({ type, data: { userId: command.userId, name: command.name } }),
    thenThrows: (code: DomainError['code'], message: RegExp) => {
      let error: unknown;
      try {
        decideSecret(command, facts);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(DomainError);
      expect((error as DomainError).code).toBe(code);
      expect((error as DomainError).message).toMatch(message);
    },
  }),
});

const cmd = (kind: SecretCommand['kind']): SecretCommand => ({ kind, userId: 'alice', name: 'gh' });

describe('A secret', () => {
  describe('when created', () => {
    it('is recorded by name and owner', () => given({ exists: false, ownedCount: 3 }).when(cmd('CreateSecret')).then('SecretCreated'));
    it('is refused when the name is taken, pointing at PUT', () =>
      given({ exists: true, ownedCount: 3 })
        .when(cmd('CreateSecret'))
        .thenThrows('CONFLICT', /already have a secret named gh.*PUT \/api\/v1\/secrets\/gh/));
    it('is refused past the per-user limit', () =>
      given({ exists: false, ownedCount: maxSecretsPerUser })
        .when(cmd('CreateSecret'))
        .thenThrows('CONFLICT', /delete one first/));
  });

  describe('when updated', () => {
    it('is recorded', () => given({ exists: true, ownedCount: 1 }).when(cmd('UpdateSecret')).then('SecretUpdated'));
    it('is a 404 when the user has no such secret', () =>
      given({ exists: false, ownedCount: 1 })
        .when(cmd('UpdateSecret'))
        .thenThrows('NOT_FOUND', /no secret named gh/));
  });

  describe('when deleted', () => {
    it('is recorded', () => given({ exists: true, ownedCount: 1 }).when(cmd('DeleteSecret')).then('SecretDeleted'));
    it('is a 404 when the user has no such secret', () =>
      given({ exists: false, ownedCount: 0 })
        .when(cmd('DeleteSecret'))
        .thenThrows('NOT_FOUND', /no secret named gh/));
  });
});

describe("Resolving a task's secret references", () => {
  it('passes when every name was found', () => {
    expect(() => decideResolution(['a', 'b'], ['b', 'a', 'c'])).not.toThrow();
  });

  it('fails naming the one that was deleted', () => {
    expect(() => decideResolution(['gh'], [])).toThrow('secret gh was deleted');
  });

  it('fails naming every deleted one, once each', () => {
    let error: DomainError | undefined;
    try {
      decideResolution(['a', 'b', 'a', 'c'], ['b']);
    } catch (e) {
      error = e as DomainError;
    }
    expect(error?.code).toBe('NOT_FOUND');
    expect(error?.message).toBe('secrets a, c were deleted');
    expect(error?.details).toEqual({ missing: ['a', 'c'] });
  });

  it('lists missing names in request order without duplicates', () => {
    expect(missingSecrets(['z', 'a', 'z'], ['q'])).toEqual(['z', 'a']);
  });
});
