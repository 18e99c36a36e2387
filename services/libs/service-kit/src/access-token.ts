/*
 * Access-token verification for every HTTP edge. The algorithm is pinned to EdDSA: a token whose
 * header says `none`, `HS256` (the "public key as HMAC secret" trick) or anything else is refused
 * before any key is used. Audience, issuer and expiry are checked; then the revocation hooks run:
 * the token's own id (logout writes it to NATS KV for the rest of the token's life) and its
 * session family (a password change, a refresh-token reuse and a logout revoke the whole
 * family, so its other access tokens stop working at once instead of at their expiry).
 *
 * A token whose signature and claims were verified is remembered (by a SHA-256 of its text, so
 * the bearer secret itself is not kept; until it expires): the Ed25519 check cost the gateway a quarter of its CPU per request, and a client
 * sends the same token for minutes. A remembered token is still checked for expiry, for its key
 * (a key no longer served is no longer trusted) and for revocation on every request.
 */
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, errors as joseErrors } from 'jose';
import { DomainError, type ApiTokenScope } from '@agentyard/contracts';
import { setBounded } from './bounded-map';

export interface AccessClaims {
  /** User id. */
  sub: string;
  /** Token id, the key for revocation. */
  jti: string;
  /** Expiry, epoch seconds. */
  exp: number;
  username: string;
  /** The session (refresh-token family) this token was issued in. */
  fam?: string;
  /** How the caller authenticated; absent means a session JWT. */
  kind?: 'session' | 'api-token';
  /** API tokens only: what the token may do. A session has every scope. */
  scopes?: ApiTokenScope[];
}

export interface PublicKeyEntry {
  kid: string;
  publicKeyPem: string;
}

export interface AccessTokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Returns the current verification keys; called again when a token names an unknown kid. */
  loadKeys: () => Promise<PublicKeyEntry[]>;
  /** Resolves true when the token id was revoked. */
  isRevoked: (jti: string) => Promise<boolean>;
  /** Resolves true when the session family (`fam`) was revoked; checked for tokens that carry one. */
  isFamilyRevoked?: (familyId: string) => Promise<boolean>;
}

/** Verified tokens remembered at most (about 1 KB each). */
const VERIFIED_TOKENS_KEPT = 10_000;

const unauthenticated = (message: string): DomainError => new DomainError('UNAUTHENTICATED', message);

/** Verifies bearer tokens; every failure is a DomainError UNAUTHENTICATED (HTTP 401). */
export class AccessTokenVerifier {
  private keys = new Map<string, KeyObject>();
  /** SHA-256 of the token text → its verified claims and signing key id; oldest dropped first. */
  private readonly verified = new Map<string, { claims: AccessClaims; kid: string }>();

  constructor(private readonly options: AccessTokenVerifierOptions) {}

  private async refreshKeys(): Promise<void> {
    const entries = await this.options.loadKeys();
    this.keys = new Map(entries.map((e) => [e.kid, createPublicKey(e.publicKeyPem)]));
  }

  async verify(token: string): Promise<AccessClaims> {
    const digest = createHash('sha256').update(token).digest('base64');
    const known = this.verified.get(digest);
    if (known && this.keys.has(known.kid)) {
      if (known.claims.exp * 1000 <= Date.now()) {
        this.verified.delete(digest);
        throw unauthenticated('the access token has expired; refresh it');
      }
      await this.refuseRevoked(known.claims);
      return known.claims;
    }
    let header: { alg?: string; kid?: string };
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw unauthenticated('the access token is malformed');
    }
    if (header.alg !== 'EdDSA') throw unauthenticated('the access token uses an algorithm this server does not accept');
    const kid = header.kid ?? '';
    if (!this.keys.has(kid)) await this.refreshKeys();
    const key = this.keys.get(kid);
    if (!key) throw unauthenticated('the access token was signed by an unknown key');
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, key, {
        algorithms: ['EdDSA'],
        issuer: this.options.issuer,
        audience: this.options.audience,
        requiredClaims: ['sub', 'jti', 'exp'],
      }));
    } catch (e) {
      if (e instanceof joseErrors.JWTExpired) throw unauthenticated('the access token has expired; refresh it');
      if (e instanceof joseErrors.JWTClaimValidationFailed) throw unauthenticated(`the access token is not valid here (${e.claim})`);
      throw unauthenticated('the access token signature is invalid');
    }
    const claims = payload as unknown as AccessClaims;
    await this.refuseRevoked(claims);
    setBounded(this.verified, digest, { claims, kid }, VERIFIED_TOKENS_KEPT);
    return claims;
  }

  /** Throws when the token or its session was revoked; both are asked at once. */
  private async refuseRevoked(claims: AccessClaims): Promise<void> {
    const family = claims.fam && this.options.isFamilyRevoked ? this.options.isFamilyRevoked(claims.fam) : Promise.resolve(false);
    const [tokenRevoked, familyRevoked] = await Promise.all([this.options.isRevoked(claims.jti), family]);
    if (tokenRevoked) throw unauthenticated('the access token was revoked (logged out)');
    if (familyRevoked) throw unauthenticated('this session was signed out (the password was changed, or it logged out); log in again');
  }
}
