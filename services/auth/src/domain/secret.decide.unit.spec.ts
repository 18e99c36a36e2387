import { maxSecretsPerUser, type DomainError } from '@agentyard/contracts';
import { deciderSpec, type Decider } from '@agentyard/event-sourcing';
import { decideResolution, decideSecret, missingSecrets, type SecretCommand, type SecretFacts } from './secret.decide';

// Secrets are rows, not a stream: the spec starts from the facts the repository loads.
const secretDecider: Decider<SecretFacts, SecretCommand> = {
  initialState: () => ({ exists: false, ownedCount: 0 }),
  evolve: (facts) => facts,
  decide: (command, facts) => [decideSecret(command, facts)],
};
const given = (facts: SecretFacts) => deciderSpec(secretDecider).givenState(facts);
const gh = { userId: 'alice', name: 'gh' };

const cmd = (kind: SecretCommand['kind']): SecretCommand => ({ kind, userId: 'alice', name: 'gh' });

describe('A secret', () => {
  describe('when created', () => {
    it('is recorded by name and owner', () =>
      given({ exists: false, ownedCount: 3 })
        .when(cmd('CreateSecret'))
        .then([{ type: 'SecretCreated', data: gh }]));
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
    it('is recorded', () =>
      given({ exists: true, ownedCount: 1 })
        .when(cmd('UpdateSecret'))
        .then([{ type: 'SecretUpdated', data: gh }]));
    it('is a 404 when the user has no such secret', () =>
      given({ exists: false, ownedCount: 1 })
        .when(cmd('UpdateSecret'))
        .thenThrows('NOT_FOUND', /no secret named gh/));
  });

  describe('when deleted', () => {
    it('is recorded', () =>
      given({ exists: true, ownedCount: 1 })
        .when(cmd('DeleteSecret'))
        .then([{ type: 'SecretDeleted', data: gh }]));
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
