import { createUser } from '@nats-io/nkeys';
import type { WorkerNatsCredentials } from '@agentyard/contracts/agent';
import { NatsCredentialsHolder } from './nats-credentials';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: jest.fn() };

/** A credentials file with a stand-in JWT and a real user seed (the authenticator signs with it). */
function creds(jwt: string, expiresAt: string): WorkerNatsCredentials {
  const seed = new TextDecoder().decode(createUser().getSeed());
  const text = `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`;
  return { creds: text, expiresAt, inboxPrefix: '_INBOX.w1' };
}

const T0 = Date.parse('2026-11-29T12:00:00.000Z');
const inAnHour = new Date(T0 + 3_600_000).toISOString();

describe('NatsCredentialsHolder', () => {
  afterEach(() => jest.useRealTimers());

  describe('when the platform runs NATS without auth', () => {
    it('adds nothing to the connection and never renews', () => {
      const renew = jest.fn();
      const holder = new NatsCredentialsHolder({ creds: null, expiresAt: null, inboxPrefix: null }, renew, silent, () => T0);
      expect(holder.enabled).toBe(false);
      expect(holder.connectionOptions()).toEqual({});
      holder.startRenewing({ reconnect: jest.fn() });
      expect(renew).not.toHaveBeenCalled();
    });
  });

  describe('with credentials', () => {
    it('connects with the inbox prefix and an authenticator presenting the JWT', () => {
      const holder = new NatsCredentialsHolder(creds('jwt-1', inAnHour), jest.fn(), silent, () => T0);
      const options = holder.connectionOptions();
      expect(options.inboxPrefix).toBe('_INBOX.w1');
      const auth = (options.authenticator as (nonce?: string) => { jwt?: string; sig?: string })('a-nonce');
      expect(auth.jwt).toBe('jwt-1');
      expect(auth.sig).toEqual(expect.any(String));
    });

    it('renews at three quarters of the remaining validity (never sooner than 10 s)', () => {
      expect(new NatsCredentialsHolder(creds('j', inAnHour), jest.fn(), silent, () => T0).renewalDelayMs()).toBe(2_700_000);
      expect(new NatsCredentialsHolder(creds('j', new Date(T0 + 4_000).toISOString()), jest.fn(), silent, () => T0).renewalDelayMs()).toBe(10_000);
    });

    it('renews before expiry, reconnects, and presents the new JWT on the next connect', async () => {
      jest.useFakeTimers({ now: T0 });
      const renew = jest.fn().mockResolvedValue(creds('jwt-2', new Date(T0 + 7_200_000).toISOString()));
      const reconnect = jest.fn().mockResolvedValue(undefined);
      const holder = new NatsCredentialsHolder(creds('jwt-1', inAnHour), renew, silent);
      const authenticator = holder.connectionOptions().authenticator as (nonce?: string) => { jwt?: string };
      holder.startRenewing({ reconnect });
      await jest.advanceTimersByTimeAsync(2_699_000);
      expect(renew).not.toHaveBeenCalled();
      await jest.advanceTimersByTimeAsync(1_000);
      expect(renew).toHaveBeenCalledTimes(1);
      expect(reconnect).toHaveBeenCalledTimes(1);
      expect(authenticator('n').jwt).toBe('jwt-2');
      expect(holder.expiresAt).toBe(new Date(T0 + 7_200_000).toISOString());
      holder.stop();
    });

    it('logs when its access ends if a renewal is refused, reports the refusal (the agent exits), and stops renewing', async () => {
      jest.useFakeTimers({ now: T0 });
      const renew = jest.fn().mockRejectedValue(new Error('worker credential was revoked'));
      const reconnect = jest.fn();
      const holder = new NatsCredentialsHolder(creds('jwt-1', inAnHour), renew, silent);
      holder.startRenewing({ reconnect });
      await jest.advanceTimersByTimeAsync(2_700_000);
      expect(silent.error).toHaveBeenCalledWith(expect.stringContaining(`NATS access ends at ${inAnHour}`));
      await expect(holder.refused).resolves.toThrow('worker credential was revoked');
      await jest.advanceTimersByTimeAsync(3_600_000);
      expect(renew).toHaveBeenCalledTimes(1);
      expect(reconnect).not.toHaveBeenCalled();
    });
  });
});
