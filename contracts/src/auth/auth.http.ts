/*
 * Usernames keep the case they were registered with but are unique case-insensitively.
 * HTTP bodies of /api/v1/auth/*. Bodies are `.strict()`: an unknown field is a 400 naming it,
 * because a typo such as `pasword` silently ignored is worse than a clear error.
 */
import { z } from 'zod';
import { uuidSource } from '../common/ids';
import { text } from '../common/text';

export const usernameSchema = text()
  .min(3, 'username must be at least 3 characters')
  .max(32, 'username must be at most 32 characters')
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'username may use letters, digits, ".", "_" and "-", starting with a letter or digit');

export const passwordSchema = text().min(8, 'password must be at least 8 characters').max(256, 'password must be at most 256 characters');

export const registerBodySchema = z
  .object({
    username: usernameSchema,
    email: z.email('email must be a valid address').max(254),
    password: passwordSchema,
  })
  .strict()
  .meta({ id: 'RegisterBody' });
export type RegisterBody = z.infer<typeof registerBodySchema>;

export const loginBodySchema = z
  .object({
    username: text().min(1, 'username (or email) is required').max(254),
    password: text().min(1, 'password is required').max(256),
  })
  .strict()
  .meta({ id: 'LoginBody' });
export type LoginBody = z.infer<typeof loginBodySchema>;

/** A refresh token: `<uuid>.<43 base64url chars>` (auth's token-issuer). */
export const refreshTokenPattern = new RegExp(`^(${uuidSource})\\.([A-Za-z0-9_-]{43})$`);

export const refreshBodySchema = z
  .object({ refreshToken: text().min(1, 'refreshToken is required').max(512) })
  .strict()
  .meta({ id: 'RefreshBody' });
export type RefreshBody = z.infer<typeof refreshBodySchema>;

export const logoutBodySchema = z
  .object({ refreshToken: text().min(1).max(512).optional() })
  .strict()
  .meta({ id: 'LogoutBody' });
export type LogoutBody = z.infer<typeof logoutBodySchema>;

export const changePasswordBodySchema = z
  .object({ currentPassword: text().min(1, 'currentPassword is required').max(256), newPassword: passwordSchema })
  .strict()
  .meta({ id: 'ChangePasswordBody' });
export type ChangePasswordBody = z.infer<typeof changePasswordBodySchema>;

export const userSchema = z
  .object({
    id: text(),
    username: text(),
    email: text(),
    createdAt: text(),
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof userSchema>;

export const tokenPairSchema = z
  .object({
    accessToken: text(),
    refreshToken: text(),
    tokenType: z.literal('Bearer'),
    /** Seconds until the access token expires. */
    expiresIn: z.number().int(),
  })
  .meta({ id: 'TokenPair' });
export type TokenPair = z.infer<typeof tokenPairSchema>;
