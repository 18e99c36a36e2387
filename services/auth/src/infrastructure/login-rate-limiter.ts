/*
 * Login and registration throttling, kept in auth's Postgres so every auth instance shares the
 * counters:
 *  - per IP: every login attempt counts (stops one host spraying many accounts);
 *  - per account: only failures count and a success clears them (stops guessing one password
 *    from many hosts without letting an attacker lock a user out for long). The account is the
 *    user the typed name resolves to — by username or email, in any case — so switching between
 *    them does not reset the count (`accountKey`);
 *  - per IP, registrations: every attempt counts (stops one host minting accounts in bulk).
 * "IP" is the client address the gateway saw: its peer, or what a trusted proxy forwarded
 * (TRUSTED_PROXIES), never a header the client chose.
 */
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Pool } from 'pg';
import { DomainError } from '@agentyard/contracts';

export interface LoginLimits {
  perIpPoints: number;
  perIpSeconds: number;
  perAccountFailures: number;
  perAccountSeconds: number;
  registrationsPerIp: number;
  registrationSeconds: number;
}

export const defaultLoginLimits: LoginLimits = {
  perIpPoints: 30,
  perIpSeconds: 60,
  perAccountFailures: 5,
  perAccountSeconds: 15 * 60,
  registrationsPerIp: 30,
  registrationSeconds: 60 * 60,
};

/**
 * The key failures are counted under: the user's id when the typed name resolves to a user, so
 * `ada`, `ADA` and `ada@example.com` share one counter; otherwise the name itself, normalised
 * (NFKC, lower case, trimmed) so case variants of an unknown name share one too.
 */
export function accountKey(user: { id: string } | undefined, typed: string): string {
  return user ? `user:${user.id}` : `login:${typed.normalize('NFKC').trim().toLowerCase()}`;
}

export class LoginRateLimiter {
  private constructor(
    private readonly perIp: RateLimiterPostgres,
    private readonly perAccount: RateLimiterPostgres,
    private readonly registrations: RateLimiterPostgres,
    private readonly limits: LoginLimits,
  ) {}

  static async create(pool: Pool, limits: Partial<LoginLimits> = {}): Promise<LoginRateLimiter> {
    const all = { ...defaultLoginLimits, ...limits };
    const make = (keyPrefix: string, points: number, duration: number) =>
      new Promise<RateLimiterPostgres>((resolve, reject) => {
        const limiter: RateLimiterPostgres = new RateLimiterPostgres(
          { storeClient: pool, tableName: 'login_rate_limits', keyPrefix, points, duration, clearExpiredByTimeout: false },
          (err?: Error) => (err ? reject(err) : resolve(limiter)),
        );
      });
    return new LoginRateLimiter(
      await make('ip', all.perIpPoints, all.perIpSeconds),
      await make('account', all.perAccountFailures, all.perAccountSeconds),
      await make('register-ip', all.registrationsPerIp, all.registrationSeconds),
      all,
    );
  }

  /** Counts a login attempt from `ip`; refuses when the IP is over its limit. */
  async beforeAttempt(ip: string): Promise<void> {
    try {
      await this.perIp.consume(ip);
    } catch (e) {
      throw tooMany(e, 'too many login attempts from this address');
    }
  }

  /** Refuses when the account (an `accountKey`) has failed too often lately. */
  async beforeAccountAttempt(key: string): Promise<void> {
    const state = await this.perAccount.get(key);
    if (state && state.consumedPoints >= this.limits.perAccountFailures) {
      throw tooMany(state, 'too many failed logins for this account');
    }
  }

  async onFailure(key: string): Promise<void> {
    await this.perAccount.penalty(key, 1);
  }

  async onSuccess(key: string): Promise<void> {
    await this.perAccount.delete(key);
  }

  /** Counts a registration attempt from `ip`; refuses when the IP is over its limit. */
  async beforeRegistration(ip: string): Promise<void> {
    try {
      await this.registrations.consume(ip);
    } catch (e) {
      throw tooMany(e, 'too many registrations from this address');
    }
  }
}

function tooMany(res: unknown, message: string): DomainError {
  if (!(res instanceof RateLimiterRes)) throw res;
  const retryAfterSeconds = Math.ceil(res.msBeforeNext / 1000);
  return new DomainError('RATE_LIMITED', `${message}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}
