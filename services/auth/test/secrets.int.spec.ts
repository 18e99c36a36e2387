/*
 * The secrets handler on a real Postgres (auth's schema and event store): rows and events commit
 * together, concurrent creations of one name cannot both win, resolution is audited, and a master
 * key rotation re-seals every value without changing it.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { DomainError } from '@agentyard/contracts';
import { PostgresEventStore } from '@agentyard/event-store';
import { testDatabase } from '@agentyard/local-infra';
import { AuthEventLog } from '../src/application/auth-event-log';
import { SecretsHandler } from '../src/application/secrets.handler';
import { migrateAuthDatabase, openAuthDatabase, type AuthDatabase } from '../src/infrastructure/auth.database';
import { keyIdOf, SecretCipher } from '../src/infrastructure/secret-cipher';
import { SecretRepository } from '../src/infrastructure/secret.repository';

let db: Kysely<AuthDatabase>;
let store: PostgresEventStore;
let events: AuthEventLog;
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const ctx = { correlationId: randomUUID() };

const handlerWith = (cipher: SecretCipher): SecretsHandler => new SecretsHandler(new SecretRepository(db), cipher, events);

async function newUser(): Promise<string> {
  const id = randomUUID();
  await db
    .insertInto('users')
    .values({ id, username: `u${id.slice(0, 8)}`, email: `${id}@example.com`, password_hash: 'x' })
    .execute();
  return id;
}

async function rejection(p: Promise<unknown>): Promise<DomainError> {
  try {
    await p;
  } catch (e) {
    return e as DomainError;
  }
  throw new Error('expected a rejection');
}

const eventTypes = async (userId: string) => (await store.readStream(`user-${userId}`)).map((e) => e.type);

beforeAll(async () => {
  const url = await testDatabase('auth');
  db = openAuthDatabase(url);
  await migrateAuthDatabase(db);
  store = await PostgresEventStore.connect({ connectionString: url, poolSize: 2 });
  await store.migrate();
  events = new AuthEventLog(db, store);
});

afterAll(async () => {
  await store?.close();
  await db?.destroy();
});

describe('SecretsHandler on Postgres', () => {
  it('lets one of five concurrent creations of a name win, with one row and one event', async () => {
    const user = await newUser();
    const handler = handlerWith(new SecretCipher(keyA));
    const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => handler.create(user, { name: 'race', value: `v${i}` }, ctx)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual([
      'CONFLICT',
      'CONFLICT',
      'CONFLICT',
      'CONFLICT',
    ]);
    expect(await db.selectFrom('secrets').select('name').where('user_id', '=', user).execute()).toEqual([{ name: 'race' }]);
    expect(await eventTypes(user)).toEqual(['SecretCreated']);
  });

  it('writes nothing, row or event, for a refused change', async () => {
    const user = await newUser();
    const handler = handlerWith(new SecretCipher(keyA));
    expect((await rejection(handler.update(user, 'absent', { value: 'v' }, ctx))).code).toBe('NOT_FOUND');
    expect((await rejection(handler.delete(user, 'absent', ctx))).code).toBe('NOT_FOUND');
    expect((await rejection(handler.create(randomUUID(), { name: 'x', value: 'v' }, ctx))).code).toBe('UNAUTHENTICATED');
    expect(await eventTypes(user)).toEqual([]);
    expect(await db.selectFrom('secrets').selectAll().where('user_id', '=', user).execute()).toEqual([]);
  });

  it('resolves values for a task, recording who got which names, and refuses naming a deleted one', async () => {
    const user = await newUser();
    const handler = handlerWith(new SecretCipher(keyA));
    await handler.create(user, { name: 'gh', value: 'ghp_value' }, ctx);
    await handler.create(user, { name: 'npm', value: 'npm_value' }, ctx);
    const task = { taskId: randomUUID(), attempt: 2, workerId: randomUUID() };
    expect(await handler.resolve({ userId: user, names: ['npm', 'gh'], task }, ctx)).toEqual({ values: { gh: 'ghp_value', npm: 'npm_value' } });
    const resolved = (await store.readStream(`user-${user}`)).find((e) => e.type === 'SecretsResolved');
    expect(resolved?.data).toEqual({ userId: user, names: ['gh', 'npm'], ...task });

    await handler.delete(user, 'gh', ctx);
    const refused = await rejection(handler.resolve({ userId: user, names: ['gh', 'npm'], task }, ctx));
    expect({ code: refused.code, message: refused.message }).toEqual({ code: 'NOT_FOUND', message: 'secret gh was deleted' });
    expect(await eventTypes(user)).toEqual(['SecretCreated', 'SecretCreated', 'SecretsResolved', 'SecretDeleted']);
    const stream = JSON.stringify(await store.readStream(`user-${user}`));
    expect(stream).not.toContain('ghp_value');
    expect(stream).not.toContain('npm_value');
  });

  it('re-seals values under a rotated key: same values, new key id, no event', async () => {
    const user = await newUser();
    const before = handlerWith(new SecretCipher(keyA));
    await before.create(user, { name: 'one', value: 'first' }, ctx);
    await before.create(user, { name: 'two', value: 'second' }, ctx);
    const task = { taskId: randomUUID(), attempt: 1, workerId: randomUUID() };

    // Rotated: the new key seals, the old one still opens until everything is re-sealed.
    const rotated = handlerWith(new SecretCipher(keyB, [keyA]));
    expect(await rotated.resolve({ userId: user, names: ['one'], task }, ctx)).toEqual({ values: { one: 'first' } });
    const { resealed, unreadable } = await rotated.rewrap(1);
    expect(resealed).toBeGreaterThanOrEqual(2);
    expect(unreadable).toBe(0);
    const keyIds = await db.selectFrom('secrets').select('key_id').where('user_id', '=', user).execute();
    expect(keyIds.map((r) => r.key_id)).toEqual([keyIdOf(keyB), keyIdOf(keyB)]);

    // The old key can now be dropped; a service that has only it reports the rows it cannot open.
    const after = handlerWith(new SecretCipher(keyB));
    expect(await after.resolve({ userId: user, names: ['one', 'two'], task }, ctx)).toEqual({ values: { one: 'first', two: 'second' } });
    expect((await handlerWith(new SecretCipher(keyA)).rewrap()).unreadable).toBeGreaterThanOrEqual(2);
    const stale = await rejection(handlerWith(new SecretCipher(keyA)).resolve({ userId: user, names: ['one'], task }, ctx));
    expect(stale.code).toBe('UNAVAILABLE');
    expect(stale.message).toMatch(/secret one cannot be decrypted: sealed with key [0-9a-f]{16}/);
    expect(stale.message).not.toContain('first');
    expect((await eventTypes(user)).filter((t) => t !== 'SecretsResolved')).toEqual(['SecretCreated', 'SecretCreated']);
  });

  it('deletes a user’s secrets with the user', async () => {
    const user = await newUser();
    await handlerWith(new SecretCipher(keyA)).create(user, { name: 'doomed', value: 'v' }, ctx);
    await db.deleteFrom('users').where('id', '=', user).execute();
    expect(await db.selectFrom('secrets').selectAll().where('user_id', '=', user).execute()).toEqual([]);
  });
});
