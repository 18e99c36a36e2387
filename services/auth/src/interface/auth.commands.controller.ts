/**
 * Auth's NATS request/reply endpoints. Thin: validate the payload again (the edge is not the only
 * caller), build the request context from the trace, call one handler.
 */
import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  apiTokenSubjects,
  authenticateApiTokenQuerySchema,
  authSubjects,
  createApiTokenCommandSchema,
  listApiTokensQuerySchema,
  revokeApiTokenCommandSchema,
  type ApiToken,
  type ApiTokenIdentity,
  type CreatedApiToken,
  changePasswordCommandSchema,
  getUserQuerySchema,
  loginCommandSchema,
  logoutCommandSchema,
  parseOrThrow,
  refreshCommandSchema,
  registerUserCommandSchema,
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

  @MessagePattern(authSubjects.registerUser)
  onRegister(@Payload() data: unknown): Promise<User> {
    return this.register.execute(parseOrThrow(registerUserCommandSchema, data), requestContext());
  }

  @MessagePattern(authSubjects.login)
  onLogin(@Payload() data: unknown): Promise<TokenPair> {
    return this.login.execute(parseOrThrow(loginCommandSchema, data), requestContext());
  }

  @MessagePattern(authSubjects.refresh)
  onRefresh(@Payload() data: unknown): Promise<TokenPair> {
    return this.refresh.execute(parseOrThrow(refreshCommandSchema, data).refreshToken, requestContext());
  }

  @MessagePattern(authSubjects.logout)
  onLogout(@Payload() data: unknown): Promise<{ loggedOut: true }> {
    return this.logout.execute(parseOrThrow(logoutCommandSchema, data), requestContext());
  }

  @MessagePattern(authSubjects.changePassword)
  onChangePassword(@Payload() data: unknown): Promise<{ changed: true }> {
    return this.changePassword.execute(parseOrThrow(changePasswordCommandSchema, data), requestContext());
  }

  @MessagePattern(authSubjects.getUser)
  onGetUser(@Payload() data: unknown): Promise<User> {
    return this.getUser.execute(parseOrThrow(getUserQuerySchema, data).userId);
  }

  @MessagePattern(authSubjects.getSigningKeys)
  onGetSigningKeys(): SigningKeys {
    return this.tokens.signingKeys();
  }

  @MessagePattern(apiTokenSubjects.create)
  onCreateApiToken(@Payload() data: unknown): Promise<CreatedApiToken> {
    const cmd = parseOrThrow(createApiTokenCommandSchema, data);
    return this.apiTokens.create(cmd.userId, cmd.body);
  }

  @MessagePattern(apiTokenSubjects.list)
  onListApiTokens(@Payload() data: unknown): Promise<{ items: ApiToken[] }> {
    return this.apiTokens.list(parseOrThrow(listApiTokensQuerySchema, data).userId);
  }

  @MessagePattern(apiTokenSubjects.revoke)
  onRevokeApiToken(@Payload() data: unknown): Promise<{ revoked: true }> {
    const cmd = parseOrThrow(revokeApiTokenCommandSchema, data);
    return this.apiTokens.revoke(cmd.userId, cmd.tokenId);
  }

  @MessagePattern(apiTokenSubjects.authenticate)
  onAuthenticateApiToken(@Payload() data: unknown): Promise<ApiTokenIdentity> {
    return this.apiTokens.authenticate(parseOrThrow(authenticateApiTokenQuerySchema, data).token);
  }
}
