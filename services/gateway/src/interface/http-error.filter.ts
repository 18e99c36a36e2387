/*
 * One error shape for every HTTP failure: `{ error, message, details?, requestId }`. Known
 * errors keep their status; anything unexpected is logged with its stack and answered with a
 * generic 500 that leaks nothing. Fastify's own errors (bad JSON, body too large, wrong content
 * type) arrive here too, so a client never sees two error formats.
 */
import { ArgumentsHost, Catch, HttpException, Logger, type ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import { DomainError, errorCodes, type ErrorBody, type ErrorCode } from '@agentyard/contracts';

const codeForStatus = (status: number): ErrorCode =>
  (Object.entries(errorCodes).find(([, s]) => s === status)?.[0] as ErrorCode | undefined) ?? (status >= 500 ? 'INTERNAL' : 'VALIDATION_FAILED');

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

/** Maps any thrown value to a status and an ErrorBody. Exported for the Fastify error hook. */
export function toErrorResponse(exception: unknown): { status: number; body: ErrorBody; unexpected: boolean } {
  if (exception instanceof DomainError) return { status: exception.status, body: exception.toBody(), unexpected: false };
  if (exception instanceof HttpException) {
    const status = exception.getStatus();
    const response = exception.getResponse();
    if (
      typeof response === 'object' &&
      response &&
      'error' in response &&
      'message' in response &&
      typeof response.error === 'string' &&
      /^[A-Z_]+$/.test(response.error)
    ) {
      return { status, body: response as ErrorBody, unexpected: false };
    }
    const friendly: Record<number, string> = {
      404: 'no such endpoint',
      413: 'the request body is larger than this endpoint accepts',
      415: 'send the body as application/json',
    };
    const message = friendly[status] ?? exception.message;
    return { status, body: { error: codeForStatus(status), message }, unexpected: false };
  }
  const fe = exception as FastifyLikeError;
  if (typeof fe?.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const messages: Record<string, string> = {
      FST_ERR_CTP_BODY_TOO_LARGE: 'the request body is larger than this endpoint accepts',
      FST_ERR_CTP_INVALID_MEDIA_TYPE: 'send the body as application/json',
      FST_ERR_CTP_EMPTY_JSON_BODY: 'the body is empty; send a JSON object',
      FST_ERR_CTP_INVALID_JSON_BODY: 'the body is not valid JSON',
    };
    const message =
      (fe.code && messages[fe.code]) ??
      (fe.message?.startsWith('Unexpected') || fe.message?.includes('JSON') ? `the body is not valid JSON: ${fe.message}` : (fe.message ?? 'bad request'));
    return { status: fe.statusCode, body: { error: codeForStatus(fe.statusCode), message }, unexpected: false };
  }
  return { status: 500, body: { error: 'INTERNAL', message: 'something went wrong on our side; it was logged' }, unexpected: true };
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const reply = ctx.getResponse<FastifyReply>();
    const request = ctx.getRequest<FastifyRequest>();
    sendError(request, reply, exception, (err) => this.logger.error({ err, requestId: request.id }, 'unhandled error'));
  }
}

/** Answers `exception` as the API's error body (with Retry-After for a 429 that says when), from a filter or a hook. */
export function sendError(request: FastifyRequest, reply: FastifyReply, exception: unknown, logUnexpected?: (err: unknown) => void): void {
  const { status, body, unexpected } = toErrorResponse(exception);
  if (unexpected) logUnexpected?.(exception);
  if (status === 413) discardRestOfBody(request.raw, reply);
  if (status === 429 && typeof (body.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds === 'number') {
    void reply.header('retry-after', String((body.details as { retryAfterSeconds: number }).retryAfterSeconds));
  }
  void reply.status(status).send({ ...body, requestId: request.id });
}

/**
 * Fastify answers an oversize body before reading it and closes the connection; the body still in
 * flight then makes the kernel reset the socket, and a client still writing loses the 413 (it
 * sees EPIPE). Instead the rest of the body is read and thrown away and the connection stays
 * open, so the client gets its answer — for at most 10 s, after which an unfinished upload's
 * socket is closed (nobody may hold a connection open by trickling a body that is refused anyway).
 */
export function discardRestOfBody(raw: IncomingMessage, reply: FastifyReply): void {
  if (raw.complete) return;
  reply.removeHeader('connection');
  raw.resume();
  const timer = setTimeout(() => {
    if (!raw.complete) raw.socket?.destroy();
  }, 10_000);
  timer.unref();
  raw.once('end', () => clearTimeout(timer));
}
