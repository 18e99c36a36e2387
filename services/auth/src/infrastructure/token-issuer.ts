/*
 * Issues access JWTs (EdDSA, 15 min unless ACCESS_TOKEN_TTL_SECONDS shortens it) and opaque refresh tokens `<id>.<secret>`. Only a SHA-256 of
 * the refresh secret is stored: the secret has 256 bits of entropy, so a slow hash adds nothing.
 * The signing key is created on first boot and kept in auth's database, so a restart does not
 * log everybody out; the gateway fetches the public half over NATS.
 */
import { createHash, generateKeyPairSync, createPrivateKey, randomBytes, timingSafeEqual, type KeyObject } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Kysely } from 'kysely';
import { SignJWT } from 'jose';
import { jwtSettings, newId, refreshTokenPattern, type SigningKeys } from '@agentyard/contracts';
import type { AuthDatabase } from './auth.database';
import { AUTH_DB } from './user.repository';

export interface IssuedAccessToken {
  token: string;
  jti: string;
  expiresIn: number;
}

@Injectable()
export class TokenIssuer {
  private key: { kid: string; privateKey: KeyObject; publicKeyPem: string } | undefined;

  constructor(
    @Inject(AUTH_DB) private readonly db: Kysely<AuthDatabase>,
    /** Access-token lifetime; shorter than the standard one only in tests (ACCESS_TOKEN_TTL_SECONDS). */
    private readonly accessTtlSeconds: number = jwtSettings.accessTtlSeconds,
  ) {}

  /** Loads the signing key, creating it on first boot (race-safe across instances). */
  async init(): Promise<void> {
    const existing = await this.db.selectFrom('signing_keys').selectAll().orderBy('created_at').executeTakeFirst();
    if (existing) {
      this.key = { kid: existing.kid, privateKey: createPrivateKey(existing.private_key_pem), publicKeyPem: existing.public_key_pem };
      return;
    }
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    await this.db
      .insertInto('signing_keys')
      .values({
        kid: newId(),
        private_key_pem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        public_key_pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    await this.init();
  }

  signingKeys(): SigningKeys {
    const key = this.requireKey();
    return { keys: [{ kid: key.kid, alg: 'EdDSA', publicKeyPem: key.publicKeyPem }] };
  }

  async issueAccessToken(user: { id: string; username: string }, familyId: string, now = new Date()): Promise<IssuedAccessToken> {
    const key = this.requireKey();
    const jti = newId();
    const iat = Math.floor(now.getTime() / 1000);
    const token = await new SignJWT({ username: user.username, fam: familyId })
      .setProtectedHeader({ alg: jwtSettings.algorithm, kid: key.kid, typ: 'JWT' })
      .setSubject(user.id)
      .setJti(jti)
      .setIssuer(jwtSettings.issuer)
      .setAudience(jwtSettings.audience)
      .setIssuedAt(iat)
      .setExpirationTime(iat + this.accessTtlSeconds)
      .sign(key.privateKey);
    return { token, jti, expiresIn: this.accessTtlSeconds };
  }

  /** A new refresh token: the wire form and what to store. */
  newRefreshToken(now = new Date()): { id: string; wire: string; secretHash: string; expiresAt: Date } {
    const id = newId();
    const secret = randomBytes(32).toString('base64url');
    return {
      id,
      wire: `${id}.${secret}`,
      secretHash: sha256(secret),
      expiresAt: new Date(now.getTime() + jwtSettings.refreshTtlSeconds * 1000),
    };
  }

  private requireKey(): NonNullable<TokenIssuer['key']> {
    if (!this.key) throw new Error('TokenIssuer.init() was not called');
    return this.key;
  }
}

/** Splits `<uuid>.<secret>`; undefined when the shape is wrong (the id must be a real UUID). */
export function parseRefreshToken(wire: string): { id: string; secret: string } | undefined {
  const match = refreshTokenPattern.exec(wire);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(sha256(secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
