/*
 * Login limits and session ending, on the real platform with auth's default limits (30 attempts
 * per client address per minute, 5 failures per account per 15 minutes):
 *  - a forwarding header the client made up (X-Forwarded-For, X-Real-IP, Forwarded) does not
 *    buy a fresh per-address budget: the gateway has no proxy in front of it here;
 *  - an account's failures count however the account is spelled (username, email, any case);
 *  - a password change ends every other session within a second — access tokens, refresh
 *    tokens, open sockets — while the session that changed it stays signed in.
 */
import { Client } from 'pg';
import { LiveSocket } from '../support/live-socket';
import { bearer, type Answer, type SecurityPlatform, type User } from './security-platform';

/**
 * Login limits and session ending, on a running platform with auth's default login limits. Each
 * test starts with cleared login counters, and the last one leaves them cleared.
 */
export function describeLoginAndSessions(platform: () => SecurityPlatform): void {
  let sp: SecurityPlatform;

  beforeAll(() => {
    sp = platform();
  });
  afterAll(() => resetLoginLimits());

  /** Forgets every login counter, so each test starts with the full budget. */
  async function resetLoginLimits(): Promise<void> {
    const db = new Client({ connectionString: sp.platform.databases.auth });
    await db.connect();
    try {
      await db.query('delete from login_rate_limits');
    } finally {
      await db.end();
    }
  }

  const attempt = (username: string, password: string, headers: Record<string, string> = {}): Promise<Answer> =>
    sp.send({ method: 'POST', path: '/api/v1/auth/login', body: { username, password }, headers });

  /** Made-up forwarding headers, each naming a different client address per attempt. */
  const forgedHeaders: Record<string, (i: number) => Record<string, string>> = {
    'X-Forwarded-For': (i) => ({ 'x-forwarded-for': `203.0.113.${i}` }),
    'X-Real-IP': (i) => ({ 'x-real-ip': `198.51.100.${i}` }),
    Forwarded: (i) => ({ forwarded: `for=192.0.2.${i};proto=https` }),
    'X-Forwarded-For with several hops': (i) => ({ 'x-forwarded-for': `10.0.0.${i}, 203.0.113.${i}` }),
  };

  describe('The per-address login limit', () => {
    beforeEach(resetLoginLimits);

    it.each(Object.keys(forgedHeaders).map((h) => [h]))('is not reset by a made-up %s header', async (header) => {
      const forge = forgedHeaders[header]!;
      // 30 attempts, each for another unknown account (so no account limit is reached), each "from" another address.
      for (let i = 1; i <= 30; i++) expect((await attempt(`nobody-${i}`, 'wrong password', forge(i))).status).toBe(401);
      const next = await attempt('nobody-31', 'wrong password', forge(31));
      expect({ status: next.status, retryAfter: next.headers.get('retry-after') !== null }).toEqual({ status: 429, retryAfter: true });
    });
  });

  describe("An account's failed-login limit", () => {
    let dave: User;
    beforeAll(async () => {
      await resetLoginLimits();
      dave = await sp.signUp('dave');
    });
    beforeEach(resetLoginLimits);

    const spellings = (u: User): string[] => [
      u.username,
      u.email,
      u.username.toUpperCase(),
      u.email.toUpperCase(),
      u.email.replace(/^./, (c) => c.toUpperCase()),
    ];

    it('counts failures under every spelling of the account together, and then refuses every spelling, right password or not', async () => {
      const names = spellings(dave);
      for (let i = 0; i < 5; i++) expect((await attempt(names[i % names.length]!, `wrong ${i}`)).status).toBe(401);
      const after = await Promise.all(names.map(async (name) => ({ name, status: (await attempt(name, dave.password)).status })));
      expect(after).toEqual(names.map((name) => ({ name, status: 429 })));
    });

    it('is reached by five failures under one spelling (the limit itself works)', async () => {
      for (let i = 0; i < 5; i++) expect((await attempt(dave.username, `wrong ${i}`)).status).toBe(401);
      expect((await attempt(dave.username, dave.password)).status).toBe(429);
    });
  });

  describe('A password change', () => {
    let erin: User;
    let others: Array<{ accessToken: string; refreshToken: string }>;
    let changer: { accessToken: string; refreshToken: string };
    let sockets: { changer: LiveSocket; others: LiveSocket[] };
    let changedAt: number;

    beforeAll(async () => {
      await resetLoginLimits();
      erin = await sp.signUp('erin');
      changer = await sp.login(erin);
      others = [await sp.login(erin), await sp.login(erin)];
      sockets = {
        changer: await LiveSocket.open(sp.url, changer.accessToken),
        others: await Promise.all(others.map((s) => LiveSocket.open(sp.url, s.accessToken))),
      };
      const oldPassword = erin.password;
      erin.password = `${oldPassword} (new)`;
      const res = await sp.send({
        method: 'POST',
        path: '/api/v1/auth/change-password',
        headers: bearer(changer.accessToken),
        body: { currentPassword: oldPassword, newPassword: erin.password },
      });
      expect(res.status).toBe(204);
      changedAt = Date.now();
    });

    afterAll(() => {
      for (const s of [sockets?.changer, ...(sockets?.others ?? [])]) s?.close();
    });

    const waitUntil = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, changedAt + ms - Date.now())));

    it("refuses the other sessions' access tokens within a second", async () => {
      await waitUntil(1_000);
      const statuses = await Promise.all(
        others.map(async (s) => (await sp.send({ method: 'GET', path: '/api/v1/auth/me', headers: bearer(s.accessToken) })).status),
      );
      expect(statuses).toEqual(others.map(() => 401));
    });

    it("closes the other sessions' sockets within a second", async () => {
      const closed = await Promise.all(sockets.others.map((s) => Promise.race([s.closed, waitUntil(1_000).then(() => 'still open')])));
      expect(closed).toEqual(sockets.others.map(() => 4401));
    });

    it("refuses the other sessions' refresh tokens", async () => {
      const statuses = await Promise.all(
        others.map(async (s) => (await sp.send({ method: 'POST', path: '/api/v1/auth/refresh', body: { refreshToken: s.refreshToken } })).status),
      );
      expect(statuses).toEqual(others.map(() => 401));
    });

    it('keeps the session that changed it signed in: its token, its socket and its refresh token work', async () => {
      await waitUntil(1_500);
      expect((await sp.send({ method: 'GET', path: '/api/v1/auth/me', headers: bearer(changer.accessToken) })).status).toBe(200);
      expect(sockets.changer.isOpen).toBe(true);
      expect((await sp.send({ method: 'POST', path: '/api/v1/auth/refresh', body: { refreshToken: changer.refreshToken } })).status).toBe(200);
    });

    it('accepts the new password and refuses the old one', async () => {
      await resetLoginLimits();
      expect((await attempt(erin.username, erin.password.replace(/ \(new\)$/, ''))).status).toBe(401);
      expect((await attempt(erin.username, erin.password)).status).toBe(200);
    });
  });
}
