import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { DomainError, idempotencyKeySchema } from '@agentyard/contracts';
import type { FastifyRequest } from 'fastify';

/** The header that makes POST /tasks safe to retry. */
export const idempotencyKeyHeader = 'idempotency-key';

/** The request's optional `Idempotency-Key`: absent, or one visible-ASCII key; anything else is a 400. */
export function parseIdempotencyKey(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  // A header sent twice arrives as an array: which one the client meant is unknowable.
  if (typeof value !== 'string') throw new DomainError('VALIDATION_FAILED', 'send one Idempotency-Key header, not several');
  const parsed = idempotencyKeySchema.safeParse(value);
  if (!parsed.success) throw new DomainError('VALIDATION_FAILED', parsed.error.issues[0]?.message ?? 'Idempotency-Key is malformed');
  return parsed.data;
}

/** `@IdempotencyKey() key: string | undefined` — the validated header (parseIdempotencyKey). */
export const IdempotencyKey = createParamDecorator((_: unknown, ctx: ExecutionContext): string | undefined =>
  parseIdempotencyKey(ctx.switchToHttp().getRequest<FastifyRequest>().headers[idempotencyKeyHeader]),
);
