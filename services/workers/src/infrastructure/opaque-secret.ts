/*
 * Opaque secrets shown once: registration tokens `ayr_<id>.<secret>` and worker credentials
 * `ayw_<id>.<secret>`. The secret is 32 random bytes (43 base64url chars); only its SHA-256 is
 * stored. With 256 bits of entropy a slow hash adds nothing, and the comparison is constant-time
 * so the stored hash cannot be guessed byte by byte.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export type SecretPrefix = 'ayr_' | 'ayw_';

export interface IssuedSecret {
  /** What the holder receives, once. */
  wire: string;
  /** What we store. */
  secretHash: string;
}

/** A new `<prefix><id>.<secret>` for the given id. */
export function issueSecret(prefix: SecretPrefix, id: string): IssuedSecret {
  const secret = randomBytes(32).toString('base64url');
  return { wire: `${prefix}${id}.${secret}`, secretHash: sha256(secret) };
}

/** Splits `<prefix><id>.<secret>`; undefined when the shape is wrong. */
export function parseSecret(prefix: SecretPrefix, wire: string): { id: string; secret: string } | undefined {
  const match = new RegExp(`^${prefix}([0-9a-f-]{36})\\.([A-Za-z0-9_-]{43})$`).exec(wire);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

/** Constant-time check of a presented secret against the stored hash. */
export function secretMatches(secret: string, storedHash: string): boolean {
  const presented = Buffer.from(sha256(secret), 'hex');
  const stored = Buffer.from(storedHash, 'hex');
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
