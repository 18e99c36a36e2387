/*
 * Backpressure at POST /tasks, through the whole platform: a burst over the edge's limit on
 * creations in flight is answered at once — each request either accepted (201, a real queued
 * task) or refused with 429, Retry-After and a reason — and a full platform queue
 * (TASKS_MAX_QUEUED) refuses every user's new task until it shrinks. No worker runs here, so the
 * queue only grows. A client retrying a create with an Idempotency-Key gets one task however the
 * retries fare.
 */
import type { TaskView } from '@agentyard/contracts';
import { startPlatform, type Platform } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

jest.setTimeout(120_000);

let platform: Platform;
let alice: ApiClient;
let bob: ApiClient;

beforeAll(async () => {
  platform = await startPlatform({
    env: {
      // At most two creations in flight, whatever their speed: a burst of 30 must be partly refused.
      gateway: { CREATE_MIN_IN_FLIGHT: '2', CREATE_MAX_IN_FLIGHT: '2' },
      tasks: { TASKS_MAX_QUEUED: '40' },
    },
  });
  const root = new ApiClient(platform.url);
  alice = (await root.signUp('alice')).client;
  bob = (await root.signUp('bob')).client;
}, 180_000);

afterAll(async () => {
  await platform?.stop();
});

const task = { description: 'waits in the queue', tool: 'shell', input: { command: 'true' } };

describe('Backpressure on POST /tasks', () => {
  // First, and its tasks cancelled at the end: the tests below count the platform's queue.
  it('makes a retried create with an Idempotency-Key one task, however many retries and 429s it took', async () => {
    const carol = (await new ApiClient(platform.url).signUp('carol')).client;
    const key = 'order-7f3c-retry';
    const create = (client: ApiClient, body: object, idempotencyKey = key) =>
      client.call<TaskView & { message?: string }>('POST', '/api/v1/tasks', body, { 'idempotency-key': idempotencyKey });
    // Twelve at once over an in-flight limit of two: some are refused with 429 and retried, as a client would.
    const answers = await Promise.all(
      Array.from({ length: 12 }, async () => {
        for (;;) {
          const res = await create(carol, task);
          if (res.status !== 429) return res;
          expect(res.headers.get('retry-after')).toBe('1');
        }
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(12).fill(201));
    const ids = new Set(answers.map((a) => a.body.id));
    expect(ids.size).toBe(1);
    // One request created it; every other answer is the same task, marked as a replay.
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === 'true')).toHaveLength(11);
    const [id] = [...ids];
    await eventually(
      'carol’s one task listed',
      async () => ((await carol.get<{ items: TaskView[] }>('/api/v1/tasks?limit=100')).body.items.length === 1 ? true : undefined),
      5_000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect((await carol.get<{ items: TaskView[] }>('/api/v1/tasks?limit=100')).body.items.map((t) => t.id)).toEqual([id]);

    // The same key with another request is refused, not answered with a task the client did not ask for.
    const changed = await create(carol, { ...task, description: 'something else' });
    expect(changed.status).toBe(409);
    expect(changed.body.message).toMatch(/Idempotency-Key was already used for a different task request/);
    // Keys are per user: bob's equal key is his own task.
    const bobs = await create(bob, task);
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(id);
    expect(bobs.headers.get('idempotent-replayed')).toBeNull();
    // Malformed keys are a 400 that says what a key may be.
    for (const bad of ['has a space', 'x'.repeat(256), 'tab\tinside']) {
      const res = await create(carol, task, bad);
      expect(res.status).toBe(400);
      expect(res.body.message).toMatch(/Idempotency-Key/);
    }
    // Once its task is deleted, the key cannot quietly create another.
    expect((await carol.post(`/api/v1/tasks/${id}/cancel`)).status).toBe(200);
    expect((await bob.post(`/api/v1/tasks/${bobs.body.id}/cancel`)).status).toBe(200);
    expect((await carol.call('DELETE', `/api/v1/tasks/${id}`)).status).toBeLessThan(300);
    const afterDelete = await create(carol, task);
    expect(afterDelete.status).toBe(409);
    expect(afterDelete.body.message).toMatch(/has been deleted: use a new key/);
  });

  it('answers a burst over the creations-in-flight limit with 201 or 429 and Retry-After, and every 201 is a real task', async () => {
    const answers = await Promise.all(Array.from({ length: 30 }, () => alice.call<TaskView & { message?: string }>('POST', '/api/v1/tasks', task)));
    const accepted = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status === 429);
    expect(accepted.length + refused.length).toBe(30);
    expect(accepted.length).toBeGreaterThanOrEqual(2);
    expect(refused.length).toBeGreaterThan(0);
    for (const r of refused) {
      expect(r.headers.get('retry-after')).toBe('1');
      expect(r.body).toMatchObject({ error: 'RATE_LIMITED', message: expect.stringMatching(/the platform is busy: 2 task creations are in progress/) });
    }
    for (const a of accepted) {
      const got = await alice.get<TaskView>(`/api/v1/tasks/${a.body.id}`);
      expect(got.status).toBe(200);
      expect(got.body.status).toBe('queued');
    }
    // Nothing half-made: the user's list holds exactly the accepted ones. The list reads the read
    // model, which may be a moment behind the last creates (a task's own GET reads its stream), so
    // it is awaited, then read again a moment later to see that nothing else turns up.
    const listed = async () => (await alice.get<{ items: TaskView[] }>('/api/v1/tasks?limit=100')).body.items.map((t) => t.id).sort();
    const want = accepted.map((a) => a.body.id).sort();
    await eventually('the accepted tasks listed', async () => ((await listed()).length >= want.length ? true : undefined), 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(await listed()).toEqual(want);
  });

  it('refuses every user’s new task with 429 once the platform’s queue is full, and takes them again when it shrinks', async () => {
    const queued = async () => (await alice.get<{ items: TaskView[] }>('/api/v1/tasks?limit=100')).body.items.filter((t) => t.status === 'queued');
    // Fill the queue to its limit of 40 one create at a time (never over the in-flight limit).
    let full: { status: number; body: { message?: string; error?: string }; headers: Headers } | undefined;
    for (let i = 0; i < 60 && !full; i++) {
      const res = await alice.call<{ message?: string; error?: string }>('POST', '/api/v1/tasks', task);
      if (res.status === 429) full = res;
      else expect(res.status).toBe(201);
    }
    expect(full).toBeDefined();
    expect(full!.headers.get('retry-after')).toBe('5');
    expect(full!.body.message).toMatch(/the platform's queue holds 40 tasks waiting for a worker, its limit is 40/);
    // The list reads the read model, which may be a moment behind the last creates — seconds while
    // the rest of the suite loads both cores (a full run once timed out at 5 s; alone it takes ms).
    let listed = 0;
    await eventually('40 queued tasks listed', async () => ((listed = (await queued()).length) === 40 ? true : undefined), 20_000).catch((e: unknown) => {
      throw new Error(`${String(e)}; the list held ${listed} queued tasks`);
    });
    await new Promise((r) => setTimeout(r, 300));
    expect(await queued()).toHaveLength(40);
    // Another user is refused too: the limit is the platform's.
    const other = await bob.call<{ message?: string }>('POST', '/api/v1/tasks', task);
    expect(other.status).toBe(429);
    // Cancelling frees places; once the count is read again, a create is accepted.
    for (const t of (await queued()).slice(0, 3)) expect((await alice.post(`/api/v1/tasks/${t.id}/cancel`)).status).toBe(200);
    const accepted = await eventually(
      'a create accepted after the queue shrank',
      async () => {
        const res = await bob.call<TaskView>('POST', '/api/v1/tasks', task);
        return res.status === 201 ? res : undefined;
      },
      10_000,
      200,
    );
    expect(accepted.body.status).toBe('queued');
  });
});
