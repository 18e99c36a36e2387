import { DomainError, rpcCatalog, type ApiTokenIdentity, type RpcEntry } from '@agentyard/contracts';
import type { NatsRpcClient } from '@agentyard/messaging';
import { ApiTokenResolver, apiTokenCacheTtlMs } from './api-token-resolver';

const identity: ApiTokenIdentity = { userId: 'u1', username: 'alice', scopes: ['tasks:read'], tokenId: 't1' };

function resolverWith(answers: Array<ApiTokenIdentity | Error>): { resolver: ApiTokenResolver; calls: () => number } {
  let calls = 0;
  const rpc = {
    call: jest.fn(async (entry: RpcEntry) => {
      expect(entry).toBe(rpcCatalog.apiTokens.authenticate);
      const next = answers[calls++];
      if (next instanceof Error) throw next;
      return next;
    }),
  } as unknown as NatsRpcClient;
  return { resolver: new ApiTokenResolver(rpc), calls: () => calls };
}

describe('ApiTokenResolver', () => {
  it('caches a positive answer for at most the TTL', async () => {
    const { resolver, calls } = resolverWith([identity, identity]);
    await resolver.resolve('ayt_a', 1_000);
    await resolver.resolve('ayt_a', 1_000 + apiTokenCacheTtlMs - 1);
    expect(calls()).toBe(1);
    await resolver.resolve('ayt_a', 1_000 + apiTokenCacheTtlMs);
    expect(calls()).toBe(2);
  });

  it('never caches a refusal', async () => {
    const { resolver, calls } = resolverWith([new DomainError('UNAUTHENTICATED', 'no'), identity]);
    await expect(resolver.resolve('ayt_b', 0)).rejects.toThrow('no');
    await expect(resolver.resolve('ayt_b', 1)).resolves.toEqual(identity);
    expect(calls()).toBe(2);
  });

  it('forgets a revoked token at once', async () => {
    const { resolver, calls } = resolverWith([identity, new DomainError('UNAUTHENTICATED', 'revoked')]);
    await resolver.resolve('ayt_c', 0);
    resolver.forget('t1');
    await expect(resolver.resolve('ayt_c', 1)).rejects.toThrow('revoked');
    expect(calls()).toBe(2);
  });
});
