/*
 * Auth's NATS request/reply commands and queries (gateway → auth) and its events (auth → JetStream
 * through the outbox). Access tokens are EdDSA JWTs the gateway verifies locally with the public
 * key from `GetSigningKeys`; revoked token ids live in the NATS KV bucket below, with a TTL equal
 * to the access token lifetime.
 */
import { z } from 'zod';
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

export const jwtSettings = {
  algorithm: 'EdDSA',
  issuer: 'agentyard-auth',
  audience: 'agentyard-api',
  accessTtlSeconds: 15 * 60,
  refreshTtlSeconds: 30 * 24 * 60 * 60,
} as const;

export const registerUserCommandSchema = registerBodySchema;
export const loginCommandSchema = loginBodySchema.extend({ ip: z.string().max(64) });
export type LoginCommand = z.infer<typeof loginCommandSchema>;
export const refreshCommandSchema = z.object({ refreshToken: z.string().min(1).max(512) });
export const logoutCommandSchema = z.object({
  userId: z.string(),
  jti: z.string(),
  /** Access token expiry, epoch seconds: the revocation entry must outlive it. */
  exp: z.number().int(),
  /** The session (refresh-token family) the access token belongs to: revoked too. */
  familyId: z.string().optional(),
});
export type LogoutCommand = z.infer<typeof logoutCommandSchema>;
export const changePasswordCommandSchema = changePasswordBodySchema.extend({ userId: z.string(), familyId: z.string().optional() });
export type ChangePasswordCommand = z.infer<typeof changePasswordCommandSchema>;
export const getUserQuerySchema = z.object({ userId: z.string() });
export const signingKeysSchema = z.object({
  keys: z.array(z.object({ kid: z.string(), alg: z.literal('EdDSA'), publicKeyPem: z.string() })),
});
export type SigningKeys = z.infer<typeof signingKeysSchema>;

// Events ------------------------------------------------------------------------------------

export const userRegisteredV1 = defineEvent('UserRegistered', 1, z.object({ userId: z.string(), username: z.string(), email: z.string() }));
export const userLoggedInV1 = defineEvent('UserLoggedIn', 1, z.object({ userId: z.string(), familyId: z.string() }));
export const sessionRefreshedV1 = defineEvent('SessionRefreshed', 1, z.object({ userId: z.string(), familyId: z.string() }));
export const refreshTokenReuseDetectedV1 = defineEvent('RefreshTokenReuseDetected', 1, z.object({ userId: z.string(), familyId: z.string() }));
export const userLoggedOutV1 = defineEvent('UserLoggedOut', 1, z.object({ userId: z.string(), familyId: z.string().optional() }));
export const passwordChangedV1 = defineEvent('PasswordChanged', 1, z.object({ userId: z.string() }));

export const authEvents = new EventRegistry().register(
  userRegisteredV1,
  userLoggedInV1,
  sessionRefreshedV1,
  refreshTokenReuseDetectedV1,
  userLoggedOutV1,
  passwordChangedV1,
);
