/**
 * Auth's NATS request/reply endpoints. Thin: validate the payload again (the edge is not the only
 * caller), build the request context from the trace, call one handler.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  parseOrThrow,
  rpcCatalog,
  type ApiToken,
  type ApiTokenIdentity,
  type CreatedApiToken,
  type SigningKeys,
  type TokenPair,
  type User,
} from '@agentyard/contracts';
import { ApiTokensHandler } from '../application/api-tokens.handler';
import { ChangePasswordHandler } from '../application/change-password.handler';
import { GetUserQuery } from '../application/get-user.query';
import { LoginHandler } from '../application/login.handler';
import { LogoutHandler } from '../application/logout.handler';
import { RefreshSessionHandler } from '../application/refresh-session.handler';
import { RegisterUserHandler } from '../application/register-user.handler';
import { TokenIssuer } from '../infrastructure/token-issuer';
import { requestContext } from './request-context';

/** Subjects and request schemas from the catalog, shared with the gateway's calls. */
const authRpc = rpcCatalog.auth;
const apiTokensRpc = rpcCatalog.apiTokens;

@Controller()
export class AuthCommandsController {
  constructor(
    private readonly register: RegisterUserHandler,
    private readonly login: LoginHandler,
    private readonly refresh: RefreshSessionHandler,
    private readonly logout: LogoutHandler,
    private readonly changePassword: ChangePasswordHandler,
    private readonly getUser: GetUserQuery,
    private readonly tokens: TokenIssuer,
    private readonly apiTokens: ApiTokensHandler,
  ) {}

  @MessagePattern(authRpc.registerUser.subject)
  onRegister(@Payload() data: unknown): Promise<User> {
    return this.register.execute(parseOrThrow(authRpc.registerUser.request, data), requestContext());
  }

  @MessagePattern(authRpc.login.subject)
  onLogin(@Payload() data: unknown): Promise<TokenPair> {
    return this.login.execute(parseOrThrow(authRpc.login.request, data), requestContext());
  }

  @MessagePattern(authRpc.refresh.subject)
  onRefresh(@Payload() data: unknown): Promise<TokenPair> {
    return this.refresh.execute(parseOrThrow(authRpc.refresh.request, data).refreshToken, requestContext());
  }

  @MessagePattern(authRpc.logout.subject)
  onLogout(@Payload() data: unknown): Promise<{ loggedOut: true }> {
    return this.logout.execute(parseOrThrow(authRpc.logout.request, data), requestContext());
  }

  @MessagePattern(authRpc.changePassword.subject)
  onChangePassword(@Payload() data: unknown): Promise<{ changed: true }> {
    return this.changePassword.execute(parseOrThrow(authRpc.changePassword.request, data), requestContext());
  }

  @MessagePattern(authRpc.getUser.subject)
  onGetUser(@Payload() data: unknown): Promise<User> {
    return this.getUser.execute(parseOrThrow(authRpc.getUser.request, data).userId);
  }

  @MessagePattern(authRpc.getSigningKeys.subject)
  onGetSigningKeys(@Payload() data: unknown): SigningKeys {
    parseOrThrow(authRpc.getSigningKeys.request, data);
    return this.tokens.signingKeys();
  }

  @MessagePattern(apiTokensRpc.create.subject)
  onCreateApiToken(@Payload() data: unknown): Promise<CreatedApiToken> {
    const cmd = parseOrThrow(apiTokensRpc.create.request, data);
    return this.apiTokens.create(cmd.userId, cmd.body);
  }

  @MessagePattern(apiTokensRpc.list.subject)
  onListApiTokens(@Payload() data: unknown): Promise<{ items: ApiToken[] }> {
    return this.apiTokens.list(parseOrThrow(apiTokensRpc.list.request, data).userId);
  }

  @MessagePattern(apiTokensRpc.revoke.subject)
  onRevokeApiToken(@Payload() data: unknown): Promise<{ revoked: true }> {
    const cmd = parseOrThrow(apiTokensRpc.revoke.request, data);
    return this.apiTokens.revoke(cmd.userId, cmd.tokenId);
  }

  @MessagePattern(apiTokensRpc.authenticate.subject)
  onAuthenticateApiToken(@Payload() data: unknown): Promise<ApiTokenIdentity> {
    return this.apiTokens.authenticate(parseOrThrow(apiTokensRpc.authenticate.request, data).token);
  }
}
