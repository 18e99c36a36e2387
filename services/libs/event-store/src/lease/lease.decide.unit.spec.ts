import {
  afterAcquire,
  afterRenew,
  afterStepDown,
  believesHeld,
  decideTick,
  DEFAULT_LEASE_SETTINGS,
  leaseSettingsFor,
  standby,
  type LeaseState,
} from './lease.decide';

const settings = DEFAULT_LEASE_SETTINGS; // ttl 3 000, renew 1 000, retry 300, margin 300

describe('Lease', () => {
  describe('when this process is a standby', () => {
    it('tries to acquire every retry interval', () => {
      expect(decideTick(standby, 0, settings)).toEqual({ kind: 'acquire', nextInMs: 300 });
    });

    it('becomes the holder of the granted epoch, believing it until sent + ttl − margin', () => {
      const { state, transition } = afterAcquire(standby, 7n, 1_000, settings);
      expect(state).toEqual({ role: 'holder', epoch: 7n, validUntil: 1_000 + 3_000 - 300 });
      expect(transition).toEqual({ kind: 'acquired', epoch: 7n });
    });

    it('stays a standby when the database did not grant it', () => {
      expect(afterAcquire(standby, null, 1_000, settings)).toEqual({ state: standby, transition: undefined });
    });
  });

  describe('when this process holds the lease', () => {
    const holder: LeaseState = { role: 'holder', epoch: 4n, validUntil: 3_700 };

    it('renews on schedule', () => {
      expect(decideTick(holder, 1_000, settings)).toEqual({ kind: 'renew', epoch: 4n, nextInMs: 1_000 });
    });

    it('renews sooner when its belief would run out before the next scheduled renewal', () => {
      expect(decideTick(holder, 3_000, settings)).toEqual({ kind: 'renew', epoch: 4n, nextInMs: 400 });
    });

    it('steps down once its belief ran out, e.g. after a pause past the ttl, without renewing', () => {
      expect(decideTick(holder, 3_700, settings)).toEqual({ kind: 'step-down', epoch: 4n, reason: 'expired' });
      expect(believesHeld(holder, 3_699)).toBe(true);
      expect(believesHeld(holder, 3_700)).toBe(false);
    });

    it('extends its belief from the time the renewal was sent, keeping the epoch', () => {
      expect(afterRenew(holder, 4n, true, 2_000, settings)).toEqual({ state: { role: 'holder', epoch: 4n, validUntil: 4_700 }, transition: undefined });
    });

    it('loses the lease when the database refused the renewal (the epoch moved on or expired)', () => {
      expect(afterRenew(holder, 4n, false, 2_000, settings)).toEqual({ state: standby, transition: { kind: 'lost', epoch: 4n, reason: 'taken' } });
    });

    it('keeps its belief unchanged when the renewal errored, so it runs out on its own', () => {
      expect(afterRenew(holder, 4n, 'error', 2_000, settings)).toEqual({ state: holder, transition: undefined });
    });

    it('ignores an answer about an older epoch', () => {
      expect(afterRenew(holder, 3n, false, 2_000, settings)).toEqual({ state: holder, transition: undefined });
    });

    it('reports the loss when it steps down or releases', () => {
      expect(afterStepDown(holder, 'released')).toEqual({ state: standby, transition: { kind: 'lost', epoch: 4n, reason: 'released' } });
      expect(afterStepDown(standby, 'expired')).toEqual({ state: standby, transition: undefined });
    });

    it('treats a new epoch granted to it as a new tenure', () => {
      expect(afterAcquire(holder, 5n, 4_000, settings).transition).toEqual({ kind: 'acquired', epoch: 5n });
      expect(afterAcquire(holder, 4n, 4_000, settings).transition).toBeUndefined();
    });
  });

  describe('settings', () => {
    it('derive renewal, retry and margin from the ttl', () => {
      expect(leaseSettingsFor(3_000)).toEqual({ ttlMs: 3_000, renewEveryMs: 1_000, retryEveryMs: 300, marginMs: 300 });
      expect(leaseSettingsFor(600)).toEqual({ ttlMs: 600, renewEveryMs: 200, retryEveryMs: 60, marginMs: 100 });
    });

    it('refuse a ttl that a renewal could not beat', () => {
      expect(() => leaseSettingsFor(100)).toThrow(/at least 300 ms/);
      expect(() => leaseSettingsFor(1_000, { renewEveryMs: 950 })).toThrow(/must be below ttlMs/);
    });
  });
});
