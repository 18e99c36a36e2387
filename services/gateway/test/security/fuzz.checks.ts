/*
 * Schema-driven fuzzing of every route of the OpenAPI document on the real platform
 * (hostile-requests.ts makes the requests). For each route and each request:
 *  - no answer is a 5xx;
 *  - a request that is invalid by construction gets the refusal listed with it (415 for a body
 *    that is not JSON, 401 for a forged credential, 400/413 for a bad body, 4xx for a bad id);
 *  - a refused request writes nothing: the row counts of every table of every service database
 *    are the same before and after it, and so are the caller's tasks, workers and tokens.
 * Budget: every listed case, plus FUZZ_RUNS drawn ones per route (default 15) from FUZZ_SEED
 * (default 1). `FUZZ_RUNS=2000 npx jest services/gateway/test/security/api-routes -t "under hostile"` digs deeper.
 */
import fc from 'fast-check';
import { buildOpenApiDocument } from '../../src/interface/openapi';
import { fixtureFor, type Created } from './fixtures';
import { hostileRequests, type HostileRequest } from './hostile-requests';
import { labelOf, operationsOf, type OpenApiDocument, type Operation } from './openapi-operations';
import { sessionPrincipal, type Principal } from './principals';
import { bearer, type SecurityPlatform, type User } from './security-platform';
import { changedTables, openStoreCounter, type StoreCounter } from './store-counts';

const runs = Number(process.env.FUZZ_RUNS ?? 15);
const seed = Number(process.env.FUZZ_SEED ?? 1);
const operations = operationsOf(buildOpenApiDocument() as unknown as OpenApiDocument);

/**
 * Fuzzing of every route, on a running platform whose login limit does not throttle the run and
 * whose workers do not go offline on their own mid-run (that event would look like a write).
 */
export function describeFuzzing(platform: () => SecurityPlatform): void {
  let sp: SecurityPlatform;
  let alice: User;
  let session: Principal;
  let counter: StoreCounter;

  beforeAll(async () => {
    sp = platform();
    alice = await sp.signUp('fuzzer');
    session = await sessionPrincipal(sp, 'fuzzer', alice);
    counter = await openStoreCounter(sp.platform.databases);
  }, 120_000);

  afterAll(async () => {
    await counter?.close();
  });

  /** Alice's tasks, workers and API tokens as the API counts them. */
  async function apiCounts(): Promise<Record<string, number>> {
    const count = async (path: string) => ((await sp.send({ method: 'GET', path, headers: bearer(alice.token) })).json as { items: unknown[] }).items.length;
    return { tasks: await count('/api/v1/tasks?limit=200'), workers: await count('/api/v1/workers'), tokens: await count('/api/v1/auth/tokens') };
  }

  /** The caller for a route: alice's session, the worker's own credential, or nobody. */
  function credentialsFor(op: Operation, objects: Record<string, Created>): Record<string, string> {
    if (op.security === 'worker') return { authorization: `Worker ${Object.values(objects).find((o) => o.credential)?.credential}` };
    return op.security === 'bearer' ? session.headers() : {};
  }

  describe.each(operations.map((op) => [labelOf(op), op] as const))('%s under hostile input', (_label, op) => {
    it(
      `answers below 500, refuses what is invalid as it should, and writes nothing when it refuses (FUZZ_RUNS=${runs}, FUZZ_SEED=${seed})`,
      async () => {
        // Fresh objects per route: one route's accepted request (a revoke, a delete) cannot starve the next.
        const objects: Record<string, Created> = {};
        const ids: Record<string, string> = {};
        for (const { name, resource } of op.params) {
          objects[resource] ??= await fixtureFor(resource, op.path)(sp, alice, 'read', { ...ids });
          ids[name] = objects[resource]!.id;
        }
        const { listed, drawn } = hostileRequests(op, ids);
        const requests: HostileRequest[] = [...listed, ...fc.sample(drawn, { numRuns: runs, seed })];

        const violations: string[] = [];
        /** Status and text; status 0 when the server closed the connection before answering (an oversize body). */
        const send = async (r: HostileRequest): Promise<{ status: number; text: string }> => {
          const headers: Record<string, string> = {
            ...credentialsFor(op, objects),
            ...(r.authorization ? { authorization: r.authorization } : {}),
            ...r.headers,
          };
          if (r.body !== undefined) headers['content-type'] = r.contentType ?? 'application/json';
          try {
            const res = await fetch(`${sp.url}${r.path}`, { method: op.method, headers, body: r.body });
            return { status: res.status, text: await res.text() };
          } catch (e) {
            // Which request, and how: a bare "fetch failed" says neither.
            if ((r.body?.length ?? 0) < 1024 * 1024)
              throw new Error(`${r.what} (${r.body?.length ?? 0}-byte body): ${String((e as { cause?: unknown }).cause ?? e)}`, { cause: e });
            return { status: 0, text: String((e as { cause?: unknown }).cause ?? e) };
          }
        };
        // Settled first: what an earlier route set off (a run's task created a moment later) must
        // not count against this one.
        let before = await counter.settled(250);
        const apiBefore = await apiCounts();
        let accepted = 0;
        for (const r of requests) {
          const res = await send(r);
          if (res.status >= 500) violations.push(`${r.what} → ${res.status} ${res.text.slice(0, 120)}`);
          else if (r.refusedWith && !r.refusedWith.includes(res.status)) violations.push(`${r.what} → ${res.status}, expected ${r.refusedWith.join('/')}`);
          if (res.status >= 400 || res.status === 0) {
            // Refused: every table of every service database has as many rows as before it.
            const after = await counter.snapshot();
            const wrote = changedTables(before, after);
            if (wrote.length > 0) violations.push(`${r.what} → ${res.status} but wrote: ${wrote.join(', ')}`);
            before = after;
          } else {
            accepted += 1;
            if (op.method !== 'GET') {
              await session.heal!(); // an accepted logout ends the session the next requests use
              // What it set off (projections, an allocation deferral) lands before the next request is judged.
              before = await counter.settled(250);
            }
          }
        }
        if (accepted === 0) {
          const apiAfter = await apiCounts();
          if (JSON.stringify(apiAfter) !== JSON.stringify(apiBefore))
            violations.push(`the API counts moved with every request refused: ${JSON.stringify(apiBefore)} → ${JSON.stringify(apiAfter)}`);
        }
        expect(violations).toEqual([]);
      },
      60_000 + runs * 300,
    ); // a long FUZZ_RUNS gets the time it needs
  });
}
