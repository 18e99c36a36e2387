/*
 * Login throttling, kept in auth's Postgres so every auth instance shares the counters:
 *  - per IP: every attempt counts (stops one host spraying many accounts);
 *  - per account: only failures count and a success clears them (stops guessing one password
 *    from many hosts without letting an attacker lock a user out for long).
 */
import { RateLimiterPostgres, RateLimiterRes } from 'rate-limiter-flexible';
import type { Pool } from 'pg';
import { DomainError } from '@agentyard/contracts';

export interface LoginLimits {
  perIpPoints: number;
  perIpSeconds: number;
  perAccountFailures: number;
  perAccountSeconds: number;
}

export const defaultLoginLimits: LoginLimits = { perIpPoints: 30, perIpSeconds: 60, perAccountFailures: 5, perAccountSeconds: 15 * 60 };

export class LoginRateLimiter {
  private constructor(
    private readonly perIp: RateLimiterPostgres,
    private readonly perAccount: RateLimiterPostgres,
    private readonly limits: LoginLimits,
  ) {}

  static async create(pool: Pool, limits: LoginLimits = defaultLoginLimits): Promise<LoginRateLimiter> {
    const make = (keyPrefix: string, points: number, duration: number) =>
      new Promise<RateLimiterPostgres>((resolve, reject) => {
        const limiter: RateLimiterPostgres = new RateLimiterPostgres(
          { storeClient: pool, tableName: 'login_rate_limits', keyPrefix, points, duration, clearExpiredByTimeout: false },
          (err?: Error) => (err ? reject(err) : resolve(limiter)),
        );
      });
    return new LoginRateLimiter(
      await make('ip', limits.perIpPoints, limits.perIpSeconds),
      await make('account', limits.perAccountFailures, limits.perAccountSeconds),
      limits,
    );
  }

  /** Counts an attempt from `ip` and refuses when the IP or the account is over its limit. */
  async beforeAttempt(ip: string, account: string): Promise<void> {
    try {
      await this.perIp.consume(ip);
    } catch (e) {
      throw tooMany(e, 'too many login attempts from this address');
    }
    const state = await this.perAccount.get(account.toLowerCase());
    if (state && state.consumedPoints >= this.limits.perAccountFailures) {
      throw tooMany(state, 'too many failed logins for this account');
    }
  }

  async onFailure(account: string): Promise<void> {
    await this.perAccount.penalty(account.toLowerCase(), 1);
  }

  async onSuccess(account: string): Promise<void> {
    await this.perAccount.delete(account.toLowerCase());
  }
}

function tooMany(res: unknown, message: string): DomainError {
  const retryAfterSeconds = res instanceof RateLimiterRes ? Math.ceil(res.msBeforeNext / 1000) : undefined;
  if (!(res instanceof RateLimiterRes)) throw res;
  return new DomainError('RATE_LIMITED', `${message}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}
