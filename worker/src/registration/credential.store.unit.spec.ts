import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, type StoredRegistration } from './credential.store';

function registration(url: string, workerId: string): StoredRegistration {
  return {
    url,
    workerId,
    credential: `ayw_${workerId}.secret`,
    natsUrl: 'nats://127.0.0.1:4222',
    heartbeatIntervalMs: 5_000,
    name: 'w',
    registeredAt: '2026-01-01T00:00:00.000Z',
  };
}

describe('CredentialStore', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ayw-creds-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps one registration per platform URL in a 0600 file', () => {
    const stateDir = join(dir, 'state');
    const store = new CredentialStore(stateDir);
    expect(store.find('http://a')).toBeUndefined();
    store.save(registration('http://a', 'w1'));
    store.save(registration('http://b', 'w2'));
    store.save(registration('http://a', 'w3'));
    expect(new CredentialStore(stateDir).find('http://a')?.workerId).toBe('w3');
    expect(
      store
        .all()
        .map((r) => r.workerId)
        .sort(),
    ).toEqual(['w2', 'w3']);
    expect(statSync(store.path).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
  });

  it('refuses to read a file that is not a credentials file', () => {
    writeFileSync(join(dir, 'worker.json'), '{"nope":');
    expect(() => new CredentialStore(dir).find('http://a')).toThrow('is not a worker credentials file');
  });
});
