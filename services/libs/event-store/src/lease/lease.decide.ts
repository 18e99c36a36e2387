/*
 * The pure part of a lease with a fencing epoch: when a keeper renews, when it must consider the
 * lease lost, and what an epoch means. No clock, no I/O: times are the keeper's monotonic
 * milliseconds (performance.now()), passed in.
 *
 * Invariants (tested in lease.decide.unit.spec.ts and, against Postgres, lease.int.spec.ts):
 *  - an epoch names one tenure: the database bumps it on every acquisition, never on a renewal,
 *    so "epoch E is current" means "no one else held the lease since E was handed out";
 *  - a holder believes it holds the lease only until `validUntil` = the local time at which it
 *    SENT its last successful acquire or renew, plus the ttl, minus a safety margin. The
 *    database's expiry is computed later (when the statement runs), so the holder's belief always
 *    ends before the database lets anyone else in;
 *  - a holder whose belief ran out (a pause, a slow database) steps down before doing anything
 *    else, and never renews an expired tenure: it re-acquires like a standby, with a new epoch;
 *  - beliefs are only an optimisation: every write made for the lease carries its epoch and the
 *    database refuses it when the epoch is not current (PostgresLeases.fence), which is what
 *    makes a holder that was paused past its lease harmless.
 */

/** Timing of a lease. */
export interface LeaseSettings {
  /** How long an acquisition or renewal holds the lease in the database. Default 3 000 ms. */
  ttlMs: number;
  /** A holder renews this often (about ttl/3, so two renewals may fail before it expires). Default 1 000 ms. */
  renewEveryMs: number;
  /** A standby tries to acquire this often. Default 300 ms. */
  retryEveryMs: number;
  /** Subtracted from the holder's local validity, for clock rate drift and scheduling. Default 10 % of the ttl, at least 100 ms. */
  marginMs: number;
}

/** Default settings: a standby takes over within ttl + retry ≈ 3.3 s of a holder's death. */
export const DEFAULT_LEASE_SETTINGS: LeaseSettings = { ttlMs: 3_000, renewEveryMs: 1_000, retryEveryMs: 300, marginMs: 300 };

/** Settings from a ttl alone: renew every ttl/3, retry every ttl/10 (50–500 ms), margin ttl/10. */
export function leaseSettingsFor(ttlMs: number, overrides: Partial<LeaseSettings> = {}): LeaseSettings {
  if (!Number.isFinite(ttlMs) || ttlMs < 300) throw new Error(`lease ttl must be at least 300 ms, got ${ttlMs}`);
  const settings: LeaseSettings = {
    ttlMs,
    renewEveryMs: Math.floor(ttlMs / 3),
    retryEveryMs: Math.min(500, Math.max(50, Math.floor(ttlMs / 10))),
    marginMs: Math.max(100, Math.floor(ttlMs / 10)),
    ...overrides,
  };
  if (settings.renewEveryMs + settings.marginMs >= settings.ttlMs) {
    throw new Error(`lease renewEveryMs (${settings.renewEveryMs}) + marginMs (${settings.marginMs}) must be below ttlMs (${settings.ttlMs})`);
  }
  return settings;
}

/** What a keeper knows: it is a standby, or it holds tenure `epoch` until local time `validUntil`. */
export type LeaseState = { role: 'standby' } | { role: 'holder'; epoch: bigint; validUntil: number };

/** The initial state: a standby. */
export const standby: LeaseState = { role: 'standby' };

/** The keeper's next move at local time `now`, and how long to wait after it before the next tick. */
export type LeaseTick =
  { kind: 'acquire'; nextInMs: number } | { kind: 'renew'; epoch: bigint; nextInMs: number } | { kind: 'step-down'; epoch: bigint; reason: 'expired' };

/** Decides the keeper's next move (see the module comment). */
export function decideTick(state: LeaseState, now: number, settings: LeaseSettings): LeaseTick {
  if (state.role === 'standby') return { kind: 'acquire', nextInMs: settings.retryEveryMs };
  if (now >= state.validUntil) return { kind: 'step-down', epoch: state.epoch, reason: 'expired' };
  // Renew on schedule, but never later than the last moment the belief is still valid.
  return { kind: 'renew', epoch: state.epoch, nextInMs: Math.max(0, Math.min(settings.renewEveryMs, state.validUntil - now - settings.marginMs)) };
}

/** A change of role the keeper must act on (start or stop the lease's work). */
export type LeaseTransition = { kind: 'acquired'; epoch: bigint } | { kind: 'lost'; epoch: bigint; reason: 'expired' | 'taken' | 'released' } | undefined;

/** The state after an acquire sent at local time `sentAt`: `epoch` when the database granted it, else null. */
export function afterAcquire(
  state: LeaseState,
  epoch: bigint | null,
  sentAt: number,
  settings: LeaseSettings,
): { state: LeaseState; transition: LeaseTransition } {
  if (epoch === null) return { state: standby, transition: state.role === 'holder' ? { kind: 'lost', epoch: state.epoch, reason: 'taken' } : undefined };
  const next: LeaseState = { role: 'holder', epoch, validUntil: validUntil(sentAt, settings) };
  if (state.role === 'holder' && state.epoch === epoch) return { state: next, transition: undefined };
  return { state: next, transition: { kind: 'acquired', epoch } };
}

/**
 * The state after a renewal of `epoch` sent at `sentAt`: `renewed` says whether the database
 * still had that epoch unexpired. An error (database unreachable) keeps the belief as it was:
 * it runs out on its own, and then decideTick steps down.
 */
export function afterRenew(
  state: LeaseState,
  epoch: bigint,
  renewed: boolean | 'error',
  sentAt: number,
  settings: LeaseSettings,
): { state: LeaseState; transition: LeaseTransition } {
  if (state.role !== 'holder' || state.epoch !== epoch) return { state, transition: undefined }; // an answer about an older tenure
  if (renewed === 'error') return { state, transition: undefined };
  if (!renewed) return { state: standby, transition: { kind: 'lost', epoch, reason: 'taken' } };
  return { state: { role: 'holder', epoch, validUntil: Math.max(state.validUntil, validUntil(sentAt, settings)) }, transition: undefined };
}

/** The state after stepping down or releasing. */
export function afterStepDown(state: LeaseState, reason: 'expired' | 'released'): { state: LeaseState; transition: LeaseTransition } {
  return { state: standby, transition: state.role === 'holder' ? { kind: 'lost', epoch: state.epoch, reason } : undefined };
}

/** Whether the holder may still believe it holds the lease at `now` (writes are fenced regardless). */
export function believesHeld(state: LeaseState, now: number): boolean {
  return state.role === 'holder' && now < state.validUntil;
}

function validUntil(sentAt: number, settings: LeaseSettings): number {
  return sentAt + settings.ttlMs - settings.marginMs;
}
