/*
 * Nest's default RPC exception filter replaces any error that is not an RpcException with
 * `{ status: 'error', message: 'Internal server error' }` before the transporter sees it, which
 * would turn every DomainError (NOT_FOUND, CONFLICT, …) into INTERNAL. This filter hands the
 * original error through; NatsJetStreamServer then replies with the DomainError's ErrorBody, or
 * INTERNAL with a generic message (logging the real error) for anything else.
 */
import { Catch, type RpcExceptionFilter } from '@nestjs/common';
import { throwError, type Observable } from 'rxjs';

/**
 * Passes handler errors to the transporter unchanged. Register it on the microservice
 * (`microservice.useGlobalFilters(new RpcErrorPassthroughFilter())`; `connectNatsJetStream` does).
 */
@Catch()
export class RpcErrorPassthroughFilter implements RpcExceptionFilter<unknown> {
  catch(exception: unknown): Observable<never> {
    return throwError(() => exception);
  }
}
