/*
 * Every route of the OpenAPI document × every principal that is not the owner × {the
 * principal's own object, user A's object, a random id}, on the real platform. Rules:
 *  - a credential that must not work (none, expired, logged out, revoked, ended by a password
 *    change, or of the wrong kind for the route) gets 401 on every secured route;
 *  - an object the caller may not see is answered exactly like a random id (same status and
 *    body but the request id), so existence does not leak; an object it may see is not;
 *  - no answer of any caller contains user A's ids, names or objects, and none is a 5xx.
 * The routes come from the document (the served one is checked to be the one built here), the
 * path ids from the fixture registry (fixtures.ts), the bodies from the document's schemas
 * (json-sample.ts), and a last check compares the document with what the gateway really serves.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jwtSettings } from '@agentyard/contracts';
import { buildOpenApiDocument } from '../../src/interface/openapi';
import { fixtureFor, randomId, registerWorker, type Created } from './fixtures';
import { sampleOf } from './json-sample';
import { fetchOpenApi, fillPath, labelOf, operationsOf, type OpenApiDocument, type Operation } from './openapi-operations';
import { buildPrincipals, principalNames, sessionPrincipal, type Principal } from './principals';
import { bearer, eventually, type Answer, type SecurityPlatform, type User } from './security-platform';

const document = buildOpenApiDocument() as unknown as OpenApiDocument;
const operations = operationsOf(document);

/**
 * The route matrix, the served-routes inventory and the security headers, on a running platform
 * whose login limit does not throttle the suite's own logins (LOGIN_MAX_ATTEMPTS_PER_IP high).
 */
export function describeRouteMatrix(platform: () => SecurityPlatform): void {
  let sp: SecurityPlatform;
  let alice: User;
  let owner: Principal;
  const principals = new Map<string, Principal>();
  /** Everything that identifies user A: no other caller may ever read one of these. */
  const aliceSecrets = new Set<string>();

  beforeAll(async () => {
    sp = platform();
    // Tokens auth issues in this phase live 1 s: bob's first one becomes the expired principal.
    await sp.platform.restart('auth', 'stop', { ACCESS_TOKEN_TTL_SECONDS: '1' });
    const bob = await sp.signUp('bob');
    const expiredToken = bob.token;
    await sp.platform.restart('auth', 'stop', { ACCESS_TOKEN_TTL_SECONDS: String(jwtSettings.accessTtlSeconds) });
    bob.token = (await sp.login(bob)).accessToken;
    alice = await sp.signUp('alice');
    const carol = await sp.signUp('carol');
    for (const p of await buildPrincipals(sp, { other: bob, expiredToken, changed: carol })) principals.set(p.name, p);
    owner = await sessionPrincipal(sp, 'the owner', alice);

    // Alice's own worker agent, so her tasks run and have allocation decisions.
    const token = await sp.send({ method: 'POST', path: '/api/v1/workers/registration-tokens', headers: bearer(alice.token), body: { uses: 1 } });
    sp.platform.startWorker({ token: (token.json as { token: string }).token, name: 'alice-box', slots: 4 });
    const agentId = await eventually('alice-box online', async () => {
      const res = await sp.send({ method: 'GET', path: '/api/v1/workers', headers: bearer(alice.token) });
      return (res.json as { items: Array<{ id: string; status: string }> }).items.find((w) => w.status === 'online')?.id;
    });
    for (const secret of [alice.id, alice.username, alice.email, agentId]) aliceSecrets.add(secret);
    const expiry = (JSON.parse(Buffer.from(expiredToken.split('.')[1]!, 'base64url').toString()) as { exp: number }).exp * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, expiry + 1_000 - Date.now())));
  }, 180_000);

  /**
   * One settled object per collection and user, shared; a fresh one where the caller may rightly
   * change it (its owner, or a valid principal its own object, on anything but a GET).
   */
  const shared = new Map<string, Promise<Created>>();
  function objectOf(op: Operation, user: User, resource: string, fresh: boolean, parents: Record<string, string>): Promise<Created> {
    const make = async (use: 'read' | 'change') => {
      const created = await fixtureFor(resource, op.path)(sp, user, use, parents);
      // A version number or a node id is no secret of alice's: it would "leak" into every answer.
      if (user === alice && created.id.length >= 8) aliceSecrets.add(created.id);
      return created;
    };
    if (fresh) return make('change');
    const key = `${resource}:${user.id}:${JSON.stringify(parents)}`;
    if (!shared.has(key)) shared.set(key, make('read'));
    return shared.get(key)!;
  }

  /** Ids for every path parameter: the principal's own objects, alice's, or random ones. */
  async function idsFor(
    op: Operation,
    whose: 'own' | 'foreign' | 'random',
    principal: Principal,
  ): Promise<{ ids: Record<string, string>; credential?: string }> {
    const ids: Record<string, string> = {};
    let credential: string | undefined;
    for (const { name, resource } of op.params) {
      if (whose === 'random') ids[name] = randomId(resource);
      else if (whose === 'own' && principal.is?.[resource]) ids[name] = principal.is[resource]!;
      else {
        const mayChangeIt = op.method !== 'GET' && (principal === owner || (whose === 'own' && principal.valid));
        // A nested id (a run's node, a workflow's schedule) belongs to the ids before it in the path.
        const created = await objectOf(op, whose === 'own' ? principal.user! : alice, resource, mayChangeIt, { ...ids });
        ids[name] = created.id;
        credential ??= created.credential;
      }
    }
    return { ids, credential };
  }

  async function call(op: Operation, ids: Record<string, string>, headers: Record<string, string>): Promise<Answer> {
    return sp.send({ method: op.method, path: fillPath(op, ids), headers, body: op.body ? sampleOf(op.body.schema) : undefined });
  }

  /** Status and body with the request id dropped and the path ids replaced: what must not differ. */
  function normalized(answer: Answer, ids: Record<string, string>): { status: number; body: unknown } {
    let text = answer.text;
    for (const id of Object.values(ids)) text = text.split(id).join('{id}');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
      if (body && typeof body === 'object') delete (body as { requestId?: unknown }).requestId;
    } catch {
      /* not JSON: compare the text */
    }
    return { status: answer.status, body };
  }

  /** Alice's secrets in an answer to someone else, except the ids the caller itself sent. */
  function leaks(answer: Answer, sentIds: Record<string, string>): string[] {
    const sent = new Set(Object.values(sentIds));
    return [...aliceSecrets].filter((s) => !sent.has(s) && answer.text.includes(s));
  }

  const accepts = (op: Operation, p: Principal): boolean => p.valid && p.kind === op.security;

  /** Body fields that carry a credential: such an answer must never be stored by a cache (RFC 6749 §5.1). */
  const credentialFields = ['accessToken', 'refreshToken', 'token', 'credential', 'creds'];

  /** The security headers an answer lacks. */
  function missingSecurityHeaders(answer: Answer): string[] {
    const h = answer.headers;
    const csp = h.get('content-security-policy') ?? '';
    const missing: string[] = [];
    if (h.get('x-content-type-options') !== 'nosniff') missing.push('x-content-type-options: nosniff');
    if (!/^(deny|sameorigin)$/i.test(h.get('x-frame-options') ?? '') && !/frame-ancestors/.test(csp)) missing.push('x-frame-options or a CSP frame-ancestors');
    if (!h.get('referrer-policy')) missing.push('referrer-policy');
    if ((h.get('content-type') ?? '').startsWith('text/html') && !csp) missing.push('content-security-policy (an HTML page)');
    const body = answer.json && typeof answer.json === 'object' ? Object.keys(answer.json) : [];
    if (body.some((k) => credentialFields.includes(k)) && !/no-store/.test(h.get('cache-control') ?? ''))
      missing.push('cache-control: no-store (it carries a credential)');
    return missing;
  }

  describe('Every route × every principal other than the owner', () => {
    it('uses the document the running gateway serves', async () => {
      expect(await fetchOpenApi(sp.url)).toEqual(document);
    });

    it('covers each principal the suite builds', () => {
      expect([...principals.keys()]).toEqual(principalNames);
    });

    describe.each(operations.map((op) => [labelOf(op), op] as const))('%s', (_label, op) => {
      if (op.params.length > 0) {
        it('has a fixture for each path id', () => {
          for (const { resource } of op.params) expect(() => fixtureFor(resource, op.path)).not.toThrow();
        });

        it("answers its owner about the owner's object differently from a random id (the fixture is real)", async () => {
          const foreign = await idsFor(op, 'foreign', owner);
          const headers = op.security === 'worker' ? { authorization: `Worker ${foreign.credential}` } : owner.headers();
          const mine = await call(op, foreign.ids, headers);
          if (mine.status < 400) await owner.heal!(); // an accepted request may have ended the session (logout)
          const random = await idsFor(op, 'random', owner);
          const none = await call(op, random.ids, headers);
          expect(mine.status).toBeLessThan(500);
          expect(normalized(mine, foreign.ids)).not.toEqual(normalized(none, random.ids));
        });
      }

      it.each(principalNames.map((name) => [name]))('%s: refused, or answered as if the object did not exist, and never given user A’s data', async (name) => {
        const principal = principals.get(name)!;
        await principal.prepare?.();
        const kinds =
          op.params.length === 0 ? (['none'] as const) : principal.user ? (['own', 'foreign', 'random'] as const) : (['foreign', 'random'] as const);
        const answers: Partial<Record<(typeof kinds)[number], { answer: Answer; ids: Record<string, string> }>> = {};
        for (const whose of kinds) {
          const { ids } = whose === 'none' ? { ids: {} } : await idsFor(op, whose, principal);
          answers[whose] = { answer: await call(op, ids, principal.headers()), ids };
          if (answers[whose].answer.status < 400) await principal.heal?.(); // an accepted logout ends the session
        }
        const all = Object.entries(answers).map(([whose, a]) => ({ whose, status: a.answer.status, leaked: leaks(a.answer, a.ids) }));
        expect(all.filter((a) => a.status >= 500 || a.leaked.length > 0)).toEqual([]);
        if (op.security !== 'none' && !accepts(op, principal)) {
          expect(all.map((a) => [a.whose, a.status])).toEqual(all.map((a) => [a.whose, 401]));
        }
        if (answers.foreign && answers.random && accepts(op, principal)) {
          expect(normalized(answers.foreign.answer, answers.foreign.ids)).toEqual(normalized(answers.random.answer, answers.random.ids));
        }
        if (answers.own && answers.random && accepts(op, principal) && ![401, 403].includes(answers.random.answer.status)) {
          expect(normalized(answers.own.answer, answers.own.ids)).not.toEqual(normalized(answers.random.answer, answers.random.ids));
        }
      });
    });
  });

  describe('A worker shared with another user', () => {
    let dave: User;
    let workerId: string;
    beforeAll(async () => {
      dave = await sp.signUp('dave');
      workerId = (await registerWorker(sp, alice, 'shared with dave')).workerId;
      const shared = await sp.send({
        method: 'POST',
        path: `/api/v1/workers/${workerId}/roles`,
        headers: bearer(alice.token),
        body: { userId: dave.id, role: 'user' },
      });
      expect(shared.status).toBe(200);
    });

    const workerRoutes = operations.filter((op) => op.security === 'bearer' && op.params.some((p) => p.resource === 'workers') && op.method !== 'GET');
    it.each(workerRoutes.map((op) => [labelOf(op), op] as const))(
      'answers %s for it as for a worker the user can see (200 or 403), never as for a missing one',
      async (_label, op) => {
        const ids = Object.fromEntries(op.params.map((p) => [p.name, workerId]));
        const seen = await call(op, ids, bearer(dave.token));
        const random = Object.fromEntries(op.params.map((p) => [p.name, randomId(p.resource)]));
        expect(seen.status).not.toBe(404);
        expect(normalized(seen, ids)).not.toEqual(normalized(await call(op, random, bearer(dave.token)), random));
      },
    );

    it('is readable by that user', async () => {
      const res = await sp.send({ method: 'GET', path: `/api/v1/workers/${workerId}`, headers: bearer(dave.token) });
      expect(res.status).toBe(200);
    });
  });

  describe('The routes the gateway serves', () => {
    /** Served on purpose outside the API document: the dashboard, its files, docs, health, metrics. */
    const outsideTheApi = [/^\/$/, /^\/\*$/, /^\/health\/(live|ready)$/, /^\/metrics$/, /^\/api\/docs([/-].*)?$/];
    const webDist = join(__dirname, '..', '..', '..', '..', 'web', 'dist');

    it('are each in the OpenAPI document (or on the short list of non-API routes), and each documented route is served', () => {
      const served = (JSON.parse(readFileSync(sp.routeListFile, 'utf8')) as Array<{ method: string; url: string }>)
        .filter((r) => r.method !== 'HEAD' && r.method !== 'OPTIONS')
        .map((r) => ({ method: r.method, path: r.url.replace(/:(\w+)/g, '{$1}') }));
      const undocumented = served.filter(
        (r) => !document.paths[r.path]?.[r.method.toLowerCase()] && !outsideTheApi.some((re) => re.test(r.path)) && !existsSync(join(webDist, r.path)),
      );
      expect(undocumented).toEqual([]);
      const unserved = operations.filter((op) => !served.some((r) => r.method === op.method && r.path === op.path)).map(labelOf);
      expect(unserved).toEqual([]);
      expect(served.length).toBeGreaterThan(operations.length);
    });

    it('answer with the security headers: no sniffing, no framing, a referrer policy, a CSP on HTML, no-store on credentials', async () => {
      const answers: Array<[string, Answer]> = [];
      for (const op of operations)
        answers.push([`anonymous ${labelOf(op)}`, await call(op, Object.fromEntries(op.params.map((p) => [p.name, randomId(p.resource)])), {})]);
      for (const path of ['/', '/tasks', '/api/docs', '/api/docs/openapi.json', '/health/live', '/api/v1/no-such-route']) {
        answers.push([`GET ${path}`, await sp.send({ method: 'GET', path, headers: { accept: 'text/html' } })]);
      }
      const login = await sp.send({ method: 'POST', path: '/api/v1/auth/login', body: { username: alice.username, password: alice.password } });
      answers.push(['a login', login]);
      const refreshToken = (login.json as { refreshToken: string }).refreshToken;
      answers.push(['a refresh', await sp.send({ method: 'POST', path: '/api/v1/auth/refresh', body: { refreshToken } })]);
      answers.push([
        'a new API token',
        await sp.send({ method: 'POST', path: '/api/v1/auth/tokens', headers: bearer(alice.token), body: { name: 'h', scopes: ['tasks:read'] } }),
      ]);
      answers.push([
        'a registration token',
        await sp.send({ method: 'POST', path: '/api/v1/workers/registration-tokens', headers: bearer(alice.token), body: {} }),
      ]);
      const problems = answers.map(([what, answer]) => ({ what, missing: missingSecurityHeaders(answer) })).filter((p) => p.missing.length > 0);
      expect(problems).toEqual([]);
    });

    it('do not hand /metrics to an anonymous caller', async () => {
      const res = await sp.send({ method: 'GET', path: '/metrics' });
      expect({ status: res.status, servesMetrics: res.status === 200 && /agentyard_|process_cpu/.test(res.text) }).toMatchObject({ servesMetrics: false });
    });
  });
}
