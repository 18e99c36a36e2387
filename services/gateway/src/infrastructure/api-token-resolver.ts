/*
 * Resolves `Bearer ayt_…` through the auth service. Positive answers are cached briefly (so a busy
 * script does not cost a NATS round trip per request); negative answers never are. A revocation
 * made through this gateway drops the entry at once; other instances forget it within the TTL.
 */
import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { rpcCatalog, type ApiTokenIdentity } from '@agentyard/contracts';
import { setBounded, type AccessClaims } from '@agentyard/service-kit';
import { NatsRpcClient } from '@agentyard/messaging';

/** How long a positive answer is cached by default (API_TOKEN_CACHE_TTL_MS). */
export const apiTokenCacheTtlMs = 30_000;

/** An API token's identity as the claims the gateway's handlers read (good for one cache TTL). */
function apiTokenClaims(identity: ApiTokenIdentity, now = Date.now(), ttlMs = apiTokenCacheTtlMs): AccessClaims {
  return {
    sub: identity.userId,
    username: identity.username,
    jti: `api-token:${identity.tokenId}`,
    exp: Math.floor((now + ttlMs) / 1000),
    kind: 'api-token',
    scopes: identity.scopes,
  };
}
const maxEntries = 10_000;

@Injectable()
export class ApiTokenResolver {
  private readonly cache = new Map<string, { identity: ApiTokenIdentity; until: number }>();

  constructor(
    @Inject(NatsRpcClient) private readonly rpc: NatsRpcClient,
    /** Cache TTL; also how often a live WebSocket opened with a token checks it again. */
    readonly ttlMs = apiTokenCacheTtlMs,
  ) {}

  /** The token's claims for the gateway's handlers (throws when it does not resolve). */
  async claims(token: string, now = Date.now()): Promise<AccessClaims> {
    return apiTokenClaims(await this.resolve(token, now), now, this.ttlMs);
  }

  async resolve(token: string, now = Date.now()): Promise<ApiTokenIdentity> {
    // Keyed by a hash, so the raw secret is not kept in memory longer than the request.
    const key = createHash('sha256').update(token).digest('hex');
    const hit = this.cache.get(key);
    if (hit && hit.until > now) return hit.identity;
    if (hit) this.cache.delete(key);
    const identity = await this.rpc.call(rpcCatalog.apiTokens.authenticate, { token });
    setBounded(this.cache, key, { identity, until: now + this.ttlMs }, maxEntries);
    return identity;
  }

  /** Drops every cached answer for the token (after a revocation). */
  forget(tokenId: string): void {
    for (const [key, entry] of this.cache) if (entry.identity.tokenId === tokenId) this.cache.delete(key);
  }
}
