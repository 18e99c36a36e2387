/*
 * A user's secrets: create, change, delete, list (names and dates only), and the two questions
 * the gateway asks — which referenced names are missing (task creation) and, once the tasks
 * service has confirmed a worker holds a task's current attempt, the values themselves.
 *
 * Each change writes the row and its event (name and owner, never the value) in one transaction:
 * auth's event store is the outbox. A value exists in clear only in this process, between the
 * request and the cipher, and in the one reply to a resolve; it is never logged or put in an error.
 */
import { Injectable } from '@nestjs/common';
import type { Transaction } from 'kysely';
import {
  DomainError,
  type CreateSecretBody,
  type ResolveSecretsQuery,
  type Secret,
  type SecretList,
  type TaskSecrets,
  type UpdateSecretBody,
} from '@agentyard/contracts';
import { decideResolution, decideSecret, missingSecrets, type SecretCommand } from '../domain/secret.decide';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { SecretCipher, secretContext, SecretUnreadable } from '../infrastructure/secret-cipher';
import { SecretRepository, type SecretMetadataRow } from '../infrastructure/secret.repository';
import { AuthEventLog, type RequestContext } from './auth-event-log';

export function toSecretView(row: SecretMetadataRow): Secret {
  return { name: row.name, createdAt: row.created_at.toISOString(), updatedAt: row.updated_at.toISOString() };
}

const accountGone = (): DomainError => new DomainError('UNAUTHENTICATED', 'the account no longer exists');

@Injectable()
export class SecretsHandler {
  constructor(
    private readonly secrets: SecretRepository,
    private readonly cipher: SecretCipher,
    private readonly events: AuthEventLog,
  ) {}

  async create(userId: string, body: CreateSecretBody, ctx: RequestContext): Promise<Secret> {
    // Sealed before the transaction: the lock on the user is held for SQL only.
    const sealed = this.cipher.seal(body.value, secretContext(userId, body.name));
    const row = await this.change({ kind: 'CreateSecret', userId, name: body.name }, ctx, (trx) => this.secrets.insert(trx, userId, body.name, sealed));
    return toSecretView(row);
  }

  async update(userId: string, name: string, body: UpdateSecretBody, ctx: RequestContext): Promise<Secret> {
    const sealed = this.cipher.seal(body.value, secretContext(userId, name));
    return toSecretView(await this.change({ kind: 'UpdateSecret', userId, name }, ctx, (trx) => this.secrets.replace(trx, userId, name, sealed)));
  }

  async delete(userId: string, name: string, ctx: RequestContext): Promise<{ deleted: true }> {
    await this.change({ kind: 'DeleteSecret', userId, name }, ctx, (trx) => this.secrets.delete(trx, userId, name));
    return { deleted: true };
  }

  async list(userId: string): Promise<SecretList> {
    return { items: (await this.secrets.list(userId)).map(toSecretView) };
  }

  /** Which of `names` the user has no secret for (another user's secret of that name does not count). */
  async findMissing(userId: string, names: string[]): Promise<{ missing: string[] }> {
    return { missing: missingSecrets(names, await this.secrets.existingNames(userId, names)) };
  }

  /**
   * The values of a task's secrets, for the worker running its current attempt (the gateway has
   * asked the tasks service). A deleted one fails the whole request, naming it; the hand-over is
   * recorded (`SecretsResolved`: names, task, attempt, worker).
   */
  async resolve(query: ResolveSecretsQuery, ctx: RequestContext): Promise<TaskSecrets> {
    const names = [...new Set(query.names)];
    const rows = await this.secrets.sealed(query.userId, names);
    decideResolution(
      names,
      rows.map((r) => r.name),
    );
    const values: Record<string, string> = {};
    for (const row of rows) {
      try {
        values[row.name] = this.cipher.open(row, secretContext(row.userId, row.name));
      } catch (error) {
        if (!(error instanceof SecretUnreadable)) throw error;
        // An operator's problem (a master key missing from the configuration), not the task's: retryable.
        throw new DomainError('UNAVAILABLE', `secret ${row.name} cannot be decrypted: ${error.message}`);
      }
    }
    await this.events.commit(query.userId, ctx, async () => ({
      facts: [{ type: 'SecretsResolved', data: { userId: query.userId, names: names.sort(), ...query.task } }],
      result: undefined,
    }));
    return { values };
  }

  /**
   * Key rotation: re-seals, with the current master key, every value still sealed with an older
   * key this service has. Returns how many were re-sealed and how many no configured key opens.
   */
  async rewrap(batch = 100): Promise<{ resealed: number; unreadable: number }> {
    const older = this.cipher.keyIds.filter((id) => id !== this.cipher.currentKeyId);
    let resealed = 0;
    for (;;) {
      const rows = await this.secrets.sealedWith(older, batch);
      if (rows.length === 0) break;
      let progressed = false;
      for (const row of rows) {
        const context = secretContext(row.userId, row.name);
        let plaintext: string;
        try {
          plaintext = this.cipher.open(row, context);
        } catch {
          continue; // altered or moved: left as it is; resolving it reports it
        }
        if (await this.secrets.reseal(row, this.cipher.seal(plaintext, context))) resealed++;
        progressed = true;
      }
      if (!progressed) break;
    }
    return { resealed, unreadable: await this.secrets.countSealedWithout(this.cipher.keyIds) };
  }

  /** Decides against the current row (locked) and applies: the row change and its event commit together. */
  private async change<T>(command: SecretCommand, ctx: RequestContext, apply: (trx: Transaction<AuthDatabase>) => Promise<T>): Promise<T> {
    return this.events.commit(command.userId, ctx, async (trx) => {
      if (!(await this.secrets.lockUser(trx, command.userId))) throw accountGone();
      const exists = await this.secrets.lockOne(trx, command.userId, command.name);
      const ownedCount = command.kind === 'CreateSecret' ? await this.secrets.count(trx, command.userId) : 0;
      const event = decideSecret(command, { exists, ownedCount });
      return { facts: [event], result: await apply(trx) };
    });
  }
}
