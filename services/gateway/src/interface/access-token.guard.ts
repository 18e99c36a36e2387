import { CanActivate, ExecutionContext, Injectable, createParamDecorator } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError } from '@agentyard/contracts';
import { AccessTokenVerifier, type AccessClaims } from '@agentyard/service-kit';

type AuthedRequest = FastifyRequest & { claims?: AccessClaims; accessToken?: string };

/** Reads `Authorization: Bearer <jwt>`, verifies it and puts the claims on the request. */
@Injectable()
export class AccessTokenGuard implements CanActivate {
  constructor(private readonly verifier: AccessTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AuthedRequest>();
    const header = request.headers.authorization;
    if (!header) throw new DomainError('UNAUTHENTICATED', 'send an access token: Authorization: Bearer <token>');
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1]) throw new DomainError('UNAUTHENTICATED', 'the Authorization header must be "Bearer <token>"');
    request.claims = await this.verifier.verify(match[1]);
    return true;
  }
}

/** The verified claims of the caller (use with AccessTokenGuard). */
export const Claims = createParamDecorator((_: unknown, ctx: ExecutionContext): AccessClaims => {
  const claims = ctx.switchToHttp().getRequest<AuthedRequest>().claims;
  if (!claims) throw new DomainError('UNAUTHENTICATED', 'not authenticated');
  return claims;
});
