import type { StoredRegistration } from './credential.store';
import { registrationTokenId, tokenConflict } from './token-reuse';

const tokenA = `ayr_0190a5e0-0000-7000-8000-00000000000a.${'a'.repeat(43)}`;
const tokenB = `ayr_0190a5e0-0000-7000-8000-00000000000b.${'b'.repeat(43)}`;

const stored = (tokenId?: string): StoredRegistration => ({
  url: 'http://platform:8080',
  workerId: 'w-old',
  credential: 'ayw_x.secret',
  natsUrl: 'nats://127.0.0.1:4222',
  heartbeatIntervalMs: 5_000,
  name: 'old-name',
  registeredAt: '2026-01-01T00:00:00.000Z',
  ...(tokenId ? { tokenId } : {}),
});

describe('registrationTokenId', () => {
  it('keeps the id and drops the secret', () => {
    expect(registrationTokenId(tokenA)).toBe('ayr_0190a5e0-0000-7000-8000-00000000000a');
  });
});

describe('tokenConflict', () => {
  it('allows a start without a token', () => {
    expect(tokenConflict(stored(registrationTokenId(tokenA)), undefined, '/s/worker.json')).toBeUndefined();
  });

  it('allows the token that registered the stored worker (a supervisor restarting the install command)', () => {
    expect(tokenConflict(stored(registrationTokenId(tokenA)), tokenA, '/s/worker.json')).toBeUndefined();
  });

  it('refuses another token, naming the stored worker, --state-dir and how to re-register', () => {
    const message = tokenConflict(stored(registrationTokenId(tokenA)), tokenB, '/s/worker.json');
    expect(message).toContain('worker w-old ("old-name")');
    expect(message).toContain('--state-dir');
    expect(message).toContain('start without --token');
    expect(message).toContain('/s/worker.json');
    expect(message).not.toContain('b'.repeat(43));
  });

  it('refuses any token when the stored worker does not say which token registered it', () => {
    expect(tokenConflict(stored(), tokenA, '/s/worker.json')).toContain('an earlier token');
  });
});
