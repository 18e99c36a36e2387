import { CanActivate, ExecutionContext, Injectable, SetMetadata, createParamDecorator } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { DomainError, type ApiTokenScope } from '@agentyard/contracts';
import { AccessTokenVerifier, type AccessClaims } from '@agentyard/service-kit';
import { ApiTokenResolver } from '../infrastructure/api-token-resolver';

type AuthedRequest = FastifyRequest & { claims?: AccessClaims; accessToken?: string };

const REQUIRED_SCOPE = 'agentyard:required-scope';
const SESSION_ONLY = 'agentyard:session-only';

/** The endpoint needs this scope from an API token (a session has every scope). */
export const RequireScope = (scope: ApiTokenScope) => SetMetadata(REQUIRED_SCOPE, scope);

/** The endpoint needs a real session: API tokens are refused with 403. */
export const SessionOnly = () => SetMetadata(SESSION_ONLY, true);

/**
 * Reads `Authorization: Bearer <token>` and puts the caller's claims on the request. A session JWT
 * is verified locally; an `ayt_…` API token is resolved by the auth service and carries scopes,
 * which are checked against `@RequireScope` / `@SessionOnly` on the endpoint.
 */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(
    private readonly verifier: AccessTokenVerifier,
    private readonly apiTokens: ApiTokenResolver,
    private readonly reflector: Reflector,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    if (!header) throw new DomainError('UNAUTHENTICATED', 'send an access token: Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    const token = match[1];
    const claims = token.startsWith('ayt_') ? await this.apiTokens.claims(token) : { ...(await this.verifier.verify(token)), kind: 'session' as const };
    request.claims = claims;
    if (claims.kind === 'api-token') {
      const targets = [context.getHandler(), context.getClass()];
      if (this.reflector.getAllAndOverride<boolean>(SESSION_ONLY, targets)) {
        throw new DomainError('FORBIDDEN', 'this endpoint needs a logged-in session; an API token cannot manage API tokens, change the password or log out');
      }
      const scope = this.reflector.getAllAndOverride<ApiTokenScope | undefined>(REQUIRED_SCOPE, targets);
      if (scope && !claims.scopes?.includes(scope)) throw new DomainError('FORBIDDEN', `this API token lacks the ${scope} scope`, { scope });
    }
    return true;
  }
}

/** The verified claims of the caller (use with AccessTokenGuard). */
export const Claims = createParamDecorator((_: unknown, ctx: ExecutionContext): AccessClaims => {
  const claims = ctx.switchToHttp().getRequest<AuthedRequest>().claims;
  if (!claims) throw new DomainError('UNAUTHENTICATED', 'not authenticated');
  return claims;
});
