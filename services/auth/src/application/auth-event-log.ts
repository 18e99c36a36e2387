/*
 * Auth is not event-sourced (its state is rows), but its facts still reach the rest of the
 * platform as events. They are appended to auth's event store *in the same transaction* as the
 * rows they describe — that table is the outbox — and the relay forwards them to JetStream.
 * Every such write is `AuthEventLog.commit`, i.e. the platform's one transactional write path
 * (`handleCommandInTransaction`) with the rows as the state: the facts are decided on rows read
 * and locked in the transaction, so the user's stream is never loaded and is appended at any
 * version. Tested in test/secrets.int.spec.ts and the gateway's auth and secrets e2e specs.
 */
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely, Transaction } from 'kysely';
import type { CorrelationMetadata } from '@agentyard/contracts';
import { handleCommandInTransaction, type Decider, type TransactionalEventStore } from '@agentyard/event-sourcing';
import type { AuthDatabase } from '../infrastructure/auth.database';
import { AUTH_DB } from '../infrastructure/user.repository';

export const AUTH_EVENT_STORE = Symbol('AUTH_EVENT_STORE');

export interface RequestContext {
  correlationId: string;
  traceparent?: string;
}

/** A fact about a user's rows, recorded on their stream (`user-<id>`). */
export interface AuthFact {
  type: string;
  data: Record<string, unknown>;
}

/** What a write did to the rows: the facts to record and what the handler answers. */
export interface AuthWrite<T> {
  facts: AuthFact[];
  result: T;
}

/** The rows decided already (the write built the facts from them): recording them is all that is left. */
function recordFacts<T>(): Decider<null, AuthWrite<T>> {
  return { initialState: () => null, evolve: (state) => state, decide: (write) => write.facts };
}

function metadataFor(ctx: RequestContext, userId: string): CorrelationMetadata {
  const metadata: CorrelationMetadata = { correlationId: ctx.correlationId, causationId: ctx.correlationId, userId };
  if (ctx.traceparent) metadata.traceparent = ctx.traceparent;
  return metadata;
}

@Injectable()
export class AuthEventLog {
  constructor(
    @Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>,
    @Inject(AUTH_EVENT_STORE) private readonly store: TransactionalEventStore,
  ) {}

  /**
   * Runs `write` in one transaction and appends the facts it returns to the user's stream: the
   * rows and their facts commit or roll back together. Returns the write's result.
   */
  async commit<T>(userId: string, ctx: RequestContext, write: (trx: Transaction<AuthDatabase>) => Promise<AuthWrite<T>>): Promise<T> {
    const { command } = await handleCommandInTransaction({
      db: this.db,
      store: this.store,
      streamId: userStream(userId),
      decider: recordFacts<T>(),
      unversioned: true,
      command: write,
      metadata: metadataFor(ctx, userId),
    });
    return command.result;
  }
}

export const userStream = (userId: string): string => `user-${userId}`;
