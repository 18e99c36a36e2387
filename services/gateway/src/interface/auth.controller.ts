/** /api/v1/auth — thin: validate, forward to the auth service over NATS, return its answer. */
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req, UseGuards } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import {
  rpcCatalog,
  createApiTokenBodySchema,
  type ApiToken,
  type CreateApiTokenBody,
  type CreatedApiToken,
  changePasswordBodySchema,
  loginBodySchema,
  logoutBodySchema,
  refreshBodySchema,
  registerBodySchema,
  type ChangePasswordBody,
  type LoginBody,
  type RefreshBody,
  type RegisterBody,
  type TokenPair,
  type User,
} from '@agentyard/contracts';
import type { AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';
import { ApiTokenResolver } from '../infrastructure/api-token-resolver';
import { RevocationMirrors } from '../infrastructure/revocation-mirror';
import { AccessTokenGuard, Claims, SessionOnly } from './access-token.guard';
import { ApiTokenIdPipe } from './id.pipe';
import { ZodBodyPipe } from './zod-body.pipe';

const authRpc = rpcCatalog.auth;
const apiTokensRpc = rpcCatalog.apiTokens;

@Controller('api/v1/auth')
export class AuthController {
  constructor(
    @Inject(NatsRpcClient) private readonly rpc: NatsRpcClient,
    private readonly apiTokens: ApiTokenResolver,
    private readonly revoked: RevocationMirrors,
  ) {}

  @Post('register')
  @HttpCode(201)
  register(@Body(new ZodBodyPipe(registerBodySchema)) body: RegisterBody, @Req() req: FastifyRequest): Promise<User> {
    // The client's address (a trusted proxy's X-Forwarded-For, else the peer) for auth's per-client limit.
    return this.rpc.call(authRpc.registerUser, { ...body, ip: req.ip });
  }

  @Post('login')
  @HttpCode(200)
  login(@Body(new ZodBodyPipe(loginBodySchema)) body: LoginBody, @Req() req: FastifyRequest): Promise<TokenPair> {
    return this.rpc.call(authRpc.login, { ...body, ip: req.ip });
  }

  @Post('refresh')
  @HttpCode(200)
  async refresh(@Body(new ZodBodyPipe(refreshBodySchema)) body: RefreshBody): Promise<TokenPair> {
    try {
      return await this.rpc.call(authRpc.refresh, body);
    } catch (error) {
      // A refused refresh may have signed its session out (a reused refresh token): its access tokens are refused from now on.
      await this.revoked.catchUp();
      throw error;
    }
  }

  @Post('logout')
  @HttpCode(204)
  @UseGuards(AccessTokenGuard)
  @SessionOnly()
  async logout(@Claims() claims: AccessClaims, @Body() body: unknown): Promise<void> {
    // The body is optional here; when present it must still be well-formed.
    if (body !== undefined && body !== null && body !== '') new ZodBodyPipe(logoutBodySchema).transform(body);
    await this.rpc.call(authRpc.logout, { userId: claims.sub, jti: claims.jti, exp: claims.exp, familyId: claims.fam });
    // The token is refused by this gateway from the client's next request on (not a watch's moment later).
    await this.revoked.catchUp();
  }

  @Get('me')
  @UseGuards(AccessTokenGuard)
  me(@Claims() claims: AccessClaims): Promise<User> {
    return this.rpc.call(authRpc.getUser, { userId: claims.sub });
  }

  @Post('change-password')
  @HttpCode(204)
  @UseGuards(AccessTokenGuard)
  @SessionOnly()
  async changePassword(@Claims() claims: AccessClaims, @Body(new ZodBodyPipe(changePasswordBodySchema)) body: ChangePasswordBody): Promise<void> {
    await this.rpc.call(authRpc.changePassword, { ...body, userId: claims.sub, familyId: claims.fam });
    await this.revoked.catchUp(); // the other sessions it signed out are refused from now on
  }

  @Get('tokens')
  @UseGuards(AccessTokenGuard)
  @SessionOnly()
  listTokens(@Claims() claims: AccessClaims): Promise<{ items: ApiToken[] }> {
    return this.rpc.call(apiTokensRpc.list, { userId: claims.sub });
  }

  @Post('tokens')
  @HttpCode(201)
  @UseGuards(AccessTokenGuard)
  @SessionOnly()
  createToken(@Claims() claims: AccessClaims, @Body(new ZodBodyPipe(createApiTokenBodySchema)) body: CreateApiTokenBody): Promise<CreatedApiToken> {
    return this.rpc.call(apiTokensRpc.create, { userId: claims.sub, body });
  }

  @Delete('tokens/:id')
  @HttpCode(204)
  @UseGuards(AccessTokenGuard)
  @SessionOnly()
  async revokeToken(@Claims() claims: AccessClaims, @Param('id', ApiTokenIdPipe) tokenId: string): Promise<void> {
    await this.rpc.call(apiTokensRpc.revoke, { userId: claims.sub, tokenId });
    this.apiTokens.forget(tokenId);
  }
}
