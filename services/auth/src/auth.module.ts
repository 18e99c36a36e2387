import { Module, type DynamicModule } from '@nestjs/common';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { TransactionalEventStore } from '@agentyard/event-sourcing';
import { ServiceKitModule, type RevocationList } from '@agentyard/service-kit';
import { ApiTokensHandler } from './application/api-tokens.handler';
import { AUTH_EVENT_STORE, AuthEventLog } from './application/auth-event-log';
import { ChangePasswordHandler } from './application/change-password.handler';
import { GetUserQuery } from './application/get-user.query';
import { LoginHandler } from './application/login.handler';
import { LogoutHandler, REVOCATION_LIST, REVOKED_FAMILIES } from './application/logout.handler';
import { RefreshSessionHandler } from './application/refresh-session.handler';
import { RegisterUserHandler } from './application/register-user.handler';
import { SecretsHandler } from './application/secrets.handler';
import { SessionIssuer } from './application/session-issuer';
import type { AuthDatabase } from './infrastructure/auth.database';
import { ApiTokenRepository } from './infrastructure/api-token.repository';
import { LoginRateLimiter } from './infrastructure/login-rate-limiter';
import { PasswordHasher } from './infrastructure/password-hasher';
import { SecretCipher } from './infrastructure/secret-cipher';
import { SecretRepository } from './infrastructure/secret.repository';
import { SessionRepository } from './infrastructure/session.repository';
import { TokenIssuer } from './infrastructure/token-issuer';
import { AUTH_DB, UserRepository } from './infrastructure/user.repository';
import { AuthCommandsController } from './interface/auth.commands.controller';
import { SecretsController } from './interface/secrets.controller';

export interface AuthDeps {
  logger: Logger;
  db: Kysely<AuthDatabase>;
  tokens: TokenIssuer;
  limiter: LoginRateLimiter;
  revocations: RevocationList;
  /** Revoked session families (contracts' revokedFamiliesBucket). */
  revokedFamilies: RevocationList;
  /** Auth's event store (the outbox): every write appends to it through AuthEventLog. */
  store: TransactionalEventStore;
  /** Seals and opens user secrets with the configured master key(s). */
  cipher: SecretCipher;
  onShutdown: () => Promise<void>;
}

@Module({})
export class AuthModule {
  /** Auth's Nest module over its already-opened resources (database, NATS KV, event store). */
  static forRoot(deps: AuthDeps): DynamicModule {
    return {
      module: AuthModule,
      imports: [ServiceKitModule.forRoot({ logger: deps.logger, onShutdown: deps.onShutdown })],
      controllers: [AuthCommandsController, SecretsController],
      providers: [
        { provide: AUTH_DB, useValue: deps.db },
        { provide: TokenIssuer, useValue: deps.tokens },
        { provide: LoginRateLimiter, useValue: deps.limiter },
        { provide: REVOCATION_LIST, useValue: deps.revocations },
        { provide: REVOKED_FAMILIES, useValue: deps.revokedFamilies },
        { provide: AUTH_EVENT_STORE, useValue: deps.store },
        AuthEventLog,
        { provide: SecretCipher, useValue: deps.cipher },
        UserRepository,
        SessionRepository,
        PasswordHasher,
        SessionIssuer,
        RegisterUserHandler,
        LoginHandler,
        RefreshSessionHandler,
        LogoutHandler,
        ChangePasswordHandler,
        GetUserQuery,
        ApiTokenRepository,
        ApiTokensHandler,
        SecretRepository,
        SecretsHandler,
      ],
    };
  }
}
