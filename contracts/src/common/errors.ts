/*
 * Typed errors that cross service boundaries. A service replies to a failed request with one of
 * these codes; the gateway maps the code to an HTTP status. Keeping the table here means the
 * mapping cannot drift between the replying service and the edge.
 */
import { z } from 'zod';
import { findUnstorableText, text, unstorableTextMessage } from './text';

export const errorCodes = {
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof errorCodes;

export const errorBodySchema = z.object({
  error: text().describe('machine-readable code, e.g. VALIDATION_FAILED'),
  message: text().describe('what went wrong, for a person'),
  details: z.unknown().optional(),
  requestId: text().optional(),
});
/** The JSON body of every HTTP error and every failed request/reply. */
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** An error a handler throws on purpose; it travels as an ErrorBody and keeps its code. */
export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }

  get status(): number {
    return errorCodes[this.code];
  }

  toBody(): ErrorBody {
    return this.details === undefined ? { error: this.code, message: this.message } : { error: this.code, message: this.message, details: this.details };
  }

  static fromBody(body: ErrorBody): DomainError {
    const code = (body.error in errorCodes ? body.error : 'INTERNAL') as ErrorCode;
    return new DomainError(code, body.message, body.details);
  }
}

/** Turns zod issues into `details` a person can act on: which field, what was wrong. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string }>): {
  field: string;
  message: string;
}[] {
  return issues.map((i) => ({ field: i.path.map(String).join('.') || '(body)', message: i.message }));
}

/**
 * Parses `value` with `schema`, or throws VALIDATION_FAILED naming each wrong field. Any string
 * in `value` that Postgres could not store (NUL, unpaired surrogate) is refused first, whatever
 * the schema says about that spot (see text.ts).
 */
export function parseOrThrow<T>(
  schema: {
    safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: ReadonlyArray<{ path: PropertyKey[]; message: string }> } };
  },
  value: unknown,
  what = 'body',
): T {
  const unstorable = findUnstorableText(value);
  if (unstorable) {
    const details = describeIssues([{ path: unstorable, message: unstorableTextMessage }]);
    throw new DomainError('VALIDATION_FAILED', `invalid ${what}: ${details[0]!.field}: ${unstorableTextMessage}`, details);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = describeIssues(result.error.issues);
  throw new DomainError('VALIDATION_FAILED', `invalid ${what}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`, details);
}
