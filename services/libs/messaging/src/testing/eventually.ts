/*
 * Test support: wait for a condition instead of sleeping a guessed time. Not exported from the
 * package entry.
 */
import { newId, type Envelope } from '@agentyard/contracts';

/** Polls `check` every 20 ms until it returns a truthy value (returned) or timeoutMs passes. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 10_000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A valid event envelope for tests. */
export function testEnvelope(type: string, data: Record<string, unknown>, overrides: Partial<Envelope> = {}): Envelope {
  const id = newId();
  return {
    id,
    type,
    version: 1,
    streamId: `test-${id}`,
    streamVersion: 1,
    occurredAt: new Date().toISOString(),
    data,
    metadata: { correlationId: id, causationId: id },
    ...overrides,
  };
}

/** Resolves once `server.listen` called back, rejects with its error. */
export function listening(server: { listen(cb: (...args: unknown[]) => unknown): unknown }): Promise<void> {
  return new Promise((resolve, reject) => server.listen((error?: unknown) => (error ? reject(error) : resolve())));
}
