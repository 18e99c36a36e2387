import { z } from 'zod';
import { baseConfigSchema, databaseUrlSchema } from '@agentyard/service-kit';
import { parseMasterKey } from './infrastructure/secret-cipher';

/** A base64 key turned into bytes; a bad one stops boot with a message that never repeats it. */
const masterKey = z.string({ error: 'is required: 32 random bytes in base64 (`openssl rand -base64 32`) that encrypt user secrets' }).transform((text, ctx) => {
  try {
    return parseMasterKey(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

export const authConfigSchema = baseConfigSchema.extend({
  DATABASE_URL: databaseUrlSchema,
  /** Encrypts user secrets at rest (AES-256-GCM). Keep it apart from the database's backups. */
  SECRETS_MASTER_KEY: masterKey,
  /** Comma-separated older master keys, still accepted to decrypt while auth re-encrypts under the current one (rotation). */
  SECRETS_PREVIOUS_MASTER_KEYS: z
    .string()
    .default('')
    .transform((text, ctx) => {
      const keys: Buffer[] = [];
      for (const [i, part] of text.split(',').entries()) {
        if (!part.trim()) continue;
        try {
          keys.push(parseMasterKey(part));
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: `key ${i + 1}: ${(error as Error).message}` });
        }
      }
      return keys;
    }),
});
