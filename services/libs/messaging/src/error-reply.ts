/*
 * The wire shape of a failed request/reply. A reply is an error exactly when it carries the
 * `Agentyard-Error` header; its body is then an ErrorBody (contracts) and `Agentyard-Status`
 * holds the HTTP status of its code. Deciding by header, never by sniffing the body, means a
 * handler may legitimately return an object that looks like `{ error, message }`.
 * Only DomainErrors keep their code and message; anything else becomes INTERNAL with a generic
 * message, so stacks and internals never leave the service.
 */
import { DomainError, errorBodySchema, errorCodes, type ErrorBody, type ErrorCode } from '@agentyard/contracts';

/** Header present (value `1`) on every error reply. */
export const ERROR_HEADER = 'Agentyard-Error';
/** Header with the HTTP status of the error code (e.g. `404`), for edges that map to HTTP. */
export const STATUS_HEADER = 'Agentyard-Status';
/** The message an unexpected (non-domain) failure replies with. */
export const INTERNAL_ERROR_MESSAGE = 'internal error';

/** True for a DomainError, including one from another copy of the contracts package. */
export function isDomainError(error: unknown): error is DomainError {
  if (error instanceof DomainError) return true;
  if (!(error instanceof Error) || error.name !== 'DomainError') return false;
  const { code, toBody } = error as unknown as { code?: unknown; toBody?: unknown };
  return typeof code === 'string' && code in errorCodes && typeof toBody === 'function';
}

/**
 * Maps what a handler threw to the ErrorBody we reply with. `expected` is false when the error
 * was not a domain error: the caller logs it, the client only sees INTERNAL.
 */
export function toErrorBody(error: unknown, requestId?: string): { body: ErrorBody; expected: boolean } {
  let body: ErrorBody | undefined;
  if (isDomainError(error)) body = error.toBody();
  else if (isTypedErrorObject(error)) body = { error: error.error, message: error.message, ...(error.details === undefined ? {} : { details: error.details }) };
  if (body) return { body: requestId ? { ...body, requestId } : body, expected: true };
  return { body: { error: 'INTERNAL', message: INTERNAL_ERROR_MESSAGE, ...(requestId ? { requestId } : {}) }, expected: false };
}

/** Parses an error reply's body back into a DomainError; a malformed one becomes INTERNAL. */
export function fromErrorReply(body: string, subject: string): DomainError {
  try {
    const parsed = errorBodySchema.safeParse(JSON.parse(body));
    if (parsed.success) return DomainError.fromBody(parsed.data);
  } catch {
    /* not JSON: handled below */
  }
  return new DomainError('INTERNAL', `malformed error reply from ${subject}`);
}

/** HTTP status for a code, as sent in STATUS_HEADER. */
export function statusOf(code: string): number {
  return code in errorCodes ? errorCodes[code as ErrorCode] : 500;
}

/** `{ error: <known code>, message }` — what `new RpcException(domainError.toBody())` carries. */
function isTypedErrorObject(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || value instanceof Error) return false;
  const parsed = errorBodySchema.safeParse(value);
  return parsed.success && parsed.data.error in errorCodes;
}
