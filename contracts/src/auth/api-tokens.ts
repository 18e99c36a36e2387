/*
 * API tokens: opaque `ayt_<id>.<secret>` credentials a user creates for scripts and CI. Shown
 * once, stored as a SHA-256 of the secret, scoped, optionally expiring, revocable. The gateway
 * accepts them as `Authorization: Bearer ayt_…` on the endpoints their scopes allow; they can
 * never manage tokens or change a password (those need a session).
 */
import { z } from 'zod';
import { commandSubject, querySubject } from '../common/subjects';

export const apiTokenScopes = [
  'tasks:read',
  'tasks:write',
  'workers:read',
  'workers:write',
  'workflows:read',
  'workflows:write',
  'secrets:read',
  'secrets:write',
] as const;
export const apiTokenScopeSchema = z.enum(apiTokenScopes, { error: `scopes are: ${apiTokenScopes.join(', ')}` });
export type ApiTokenScope = z.infer<typeof apiTokenScopeSchema>;

/** `ayt_` + uuid + `.` + 43 base64url chars. */
export const apiTokenPattern = /^ayt_[0-9a-f-]{36}\.[A-Za-z0-9_-]{43}$/;

export const createApiTokenBodySchema = z
  .object({
    name: z.string().min(1, 'name is required').max(100, 'name must be at most 100 characters'),
    scopes: z.array(apiTokenScopeSchema).min(1, 'choose at least one scope').max(apiTokenScopes.length),
    /** Days until it expires; absent = never. */
    expiresInDays: z.number().int().min(1).max(365).optional(),
  })
  .strict()
  .meta({ id: 'CreateApiTokenBody' });
export type CreateApiTokenBody = z.infer<typeof createApiTokenBodySchema>;

export const apiTokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scopes: z.array(apiTokenScopeSchema),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
  })
  .meta({ id: 'ApiToken' });
export type ApiToken = z.infer<typeof apiTokenSchema>;

/** The reply to creation: the only time the secret is shown. */
export const createdApiTokenSchema = apiTokenSchema.extend({ token: z.string() }).meta({ id: 'CreatedApiToken' });
export type CreatedApiToken = z.infer<typeof createdApiTokenSchema>;

export const apiTokenListSchema = z.object({ items: z.array(apiTokenSchema) }).meta({ id: 'ApiTokenList' });

export const apiTokenSubjects = {
  create: commandSubject('auth', 'CreateApiToken'),
  list: querySubject('auth', 'ListApiTokens'),
  revoke: commandSubject('auth', 'RevokeApiToken'),
  /** `{ token }` → `{ userId, username, scopes, tokenId }` or 401. */
  authenticate: querySubject('auth', 'AuthenticateApiToken'),
} as const;

export const createApiTokenCommandSchema = z.object({ userId: z.string(), body: createApiTokenBodySchema });
export const listApiTokensQuerySchema = z.object({ userId: z.string() });
export const revokeApiTokenCommandSchema = z.object({ userId: z.string(), tokenId: z.string().max(64) });
export const authenticateApiTokenQuerySchema = z.object({ token: z.string().max(200) });
export const apiTokenIdentitySchema = z.object({ userId: z.string(), username: z.string(), scopes: z.array(apiTokenScopeSchema), tokenId: z.string() });
export type ApiTokenIdentity = z.infer<typeof apiTokenIdentitySchema>;
