/*
 * Auth's NATS request/reply commands and queries (gateway → auth) and its events (auth → JetStream
 * through the outbox). Access tokens are EdDSA JWTs the gateway verifies locally with the public
 * key from `GetSigningKeys`; revoked token ids live in the NATS KV bucket below, with a TTL equal
 * to the access token lifetime.
 */
import { z } from 'zod';
import { text } from '../common/text';
import { commandSubject, querySubject } from '../common/subjects';
import { defineEvent, EventRegistry } from '../common/versioning';
import { loginBodySchema, registerBodySchema, changePasswordBodySchema } from './auth.http';

export const authSubjects = {
  registerUser: commandSubject('auth', 'RegisterUser'),
  login: commandSubject('auth', 'Login'),
  refresh: commandSubject('auth', 'RefreshSession'),
  logout: commandSubject('auth', 'Logout'),
  changePassword: commandSubject('auth', 'ChangePassword'),
  getUser: querySubject('auth', 'GetUser'),
  getSigningKeys: querySubject('auth', 'GetSigningKeys'),
} as const;

/** NATS KV bucket of revoked access-token ids (key = jti); entries expire with the token. */
export const revokedTokensBucket = 'auth-revoked-tokens';

/**
 * NATS KV bucket of revoked sessions (key = the refresh-token family id, the access token's
 * `fam`), with the same TTL: once an entry expires, every access token of that family has
 * expired too. Written on a password change (every other session), a refresh-token reuse and a
 * logout; the gateway refuses the family's tokens and closes its WebSockets.
 */
export const revokedFamiliesBucket = 'auth-revoked-families';

export const jwtSettings = {
  algorithm: 'EdDSA',
  issuer: 'agentyard-auth',
  audience: 'agentyard-api',
  accessTtlSeconds: 15 * 60,
  refreshTtlSeconds: 30 * 24 * 60 * 60,
} as const;

/** `ip`: the client's address, for the per-client registration limit. */
export const registerUserCommandSchema = registerBodySchema.extend({ ip: text().max(64) });
export type RegisterUserCommand = z.infer<typeof registerUserCommandSchema>;
export const loginCommandSchema = loginBodySchema.extend({ ip: text().max(64) });
export type LoginCommand = z.infer<typeof loginCommandSchema>;
export const refreshCommandSchema = z.object({ refreshToken: text().min(1).max(512) });
export const logoutCommandSchema = z.object({
  userId: text(),
  jti: text(),
  /** Access token expiry, epoch seconds: the revocation entry must outlive it. */
  exp: z.number().int(),
  /** The session (refresh-token family) the access token belongs to: revoked too. */
  familyId: text().optional(),
});
export type LogoutCommand = z.infer<typeof logoutCommandSchema>;
export const changePasswordCommandSchema = changePasswordBodySchema.extend({ userId: text(), familyId: text().optional() });
export type ChangePasswordCommand = z.infer<typeof changePasswordCommandSchema>;
export const getUserQuerySchema = z.object({ userId: text() });
export const signingKeysSchema = z.object({
  keys: z.array(z.object({ kid: text(), alg: z.literal('EdDSA'), publicKeyPem: text() })),
});
export type SigningKeys = z.infer<typeof signingKeysSchema>;

// Events ------------------------------------------------------------------------------------

export const userRegisteredV1 = defineEvent('UserRegistered', 1, z.object({ userId: text(), username: text(), email: text() }));
export const userLoggedInV1 = defineEvent('UserLoggedIn', 1, z.object({ userId: text(), familyId: text() }));
export const sessionRefreshedV1 = defineEvent('SessionRefreshed', 1, z.object({ userId: text(), familyId: text() }));
export const refreshTokenReuseDetectedV1 = defineEvent('RefreshTokenReuseDetected', 1, z.object({ userId: text(), familyId: text() }));
export const userLoggedOutV1 = defineEvent('UserLoggedOut', 1, z.object({ userId: text(), familyId: text().optional() }));
export const passwordChangedV1 = defineEvent('PasswordChanged', 1, z.object({ userId: text() }));

export const authEvents = new EventRegistry().register(
  userRegisteredV1,
  userLoggedInV1,
  sessionRefreshedV1,
  refreshTokenReuseDetectedV1,
  userLoggedOutV1,
  passwordChangedV1,
);
