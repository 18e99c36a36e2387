/*
 * The rules of a user's secrets, pure: what creating, changing or deleting one leads to (the
 * event, or the refusal), and whether a task's references can be resolved. The repository loads
 * the facts (does the name exist, how many the user has, which names were found), this decides,
 * the handler writes the rows and the events in one transaction.
 *
 * Invariant: no decision, event or error here ever holds a secret's value — they see names only
 * (the value goes from the handler straight to the cipher). Tested in secret.decide.unit.spec.ts.
 */
import { DomainError, maxSecretsPerUser } from '@agentyard/contracts';

export type SecretCommand =
  | { kind: 'CreateSecret'; userId: string; name: string }
  | { kind: 'UpdateSecret'; userId: string; name: string }
  | { kind: 'DeleteSecret'; userId: string; name: string };

/** What the store knows about the command's name and its owner. */
export interface SecretFacts {
  exists: boolean;
  /** Secrets the user holds now. */
  ownedCount: number;
}

export interface SecretEvent {
  type: 'SecretCreated' | 'SecretUpdated' | 'SecretDeleted';
  data: { userId: string; name: string };
}

const noSuchSecret = (name: string): DomainError => new DomainError('NOT_FOUND', `you have no secret named ${name}`);

/** The event a secret command leads to; throws a DomainError a person can act on when it cannot. */
export function decideSecret(command: SecretCommand, facts: SecretFacts): SecretEvent {
  const data = { userId: command.userId, name: command.name };
  switch (command.kind) {
    case 'CreateSecret':
      if (facts.exists) {
        throw new DomainError('CONFLICT', `you already have a secret named ${command.name}; change its value with PUT /api/v1/secrets/${command.name}`);
      }
      if (facts.ownedCount >= maxSecretsPerUser) throw new DomainError('CONFLICT', `you already have ${maxSecretsPerUser} secrets; delete one first`);
      return { type: 'SecretCreated', data };
    case 'UpdateSecret':
      if (!facts.exists) throw noSuchSecret(command.name);
      return { type: 'SecretUpdated', data };
    case 'DeleteSecret':
      if (!facts.exists) throw noSuchSecret(command.name);
      return { type: 'SecretDeleted', data };
    default: {
      const never: never = command;
      throw new Error(`unhandled secret command ${JSON.stringify(never)}`);
    }
  }
}

/** The requested names the user has no secret for, in request order. */
export function missingSecrets(requested: readonly string[], found: Iterable<string>): string[] {
  const have = new Set(found);
  return [...new Set(requested)].filter((n) => !have.has(n));
}

/**
 * A running task's references must all still exist. The task was accepted only when they did
 * (the gateway checks at creation), so a missing one was deleted since: the task fails with that
 * reason rather than running without it.
 */
export function decideResolution(requested: readonly string[], found: Iterable<string>): void {
  const missing = missingSecrets(requested, found);
  if (missing.length === 0) return;
  const message = missing.length === 1 ? `secret ${missing[0]} was deleted` : `secrets ${missing.join(', ')} were deleted`;
  throw new DomainError('NOT_FOUND', message, { missing });
}
