/*
 * How many task creations the edge lets through at once: an AIMD limit on requests in flight,
 * steered by how long the tasks service takes to answer. Open-loop clients (scripts, CI fan-outs)
 * do not slow down when the platform does, so without a bound every extra request waits in line
 * and POST /tasks took seconds at twice the rate the platform sustains. With it, a create either
 * gets in while the line is short or is refused at once with 429 and Retry-After, and the queue
 * behind the API (the durable one, in the event store) is where the backlog builds up.
 *
 * The answer time is a late signal when the gateway itself is the bottleneck: a request then
 * waits in the gateway's event loop before the limit ever sees it, and even the refusals come late
 * (p99 270–550 ms at twice the sustainable rate on a loaded machine). So a create is also refused
 * while the gateway's event loop is late by more than `maxLoopDelayMs` on average over the last
 * sample window — checked in an onRequest hook, before the body is parsed or the token verified,
 * so a refusal costs the least the gateway can do.
 *
 * Pure: the gate holds the numbers and the clock, this decides.
 */

export interface AdmissionSettings {
  /** A create answered within this is a sign of headroom (the limit grows); slower ones shrink it. */
  targetMs: number;
  /** The limit never falls below this (the platform keeps accepting while it drains). */
  minLimit: number;
  /** Nor grows past this. */
  maxLimit: number;
  /** Refuse creates while the event loop's mean delay over the last sample window exceeds this (ms); 0 = never. */
  maxLoopDelayMs: number;
}

export interface AdmissionState {
  /** Current limit on creations in flight (fractional: it grows by 1/limit per fast answer). */
  limit: number;
  inFlight: number;
  /** When the limit last shrank (ms, the gate's clock); it shrinks at most once per target interval. */
  lastDecreaseAt: number;
}

export function initialAdmission(settings: AdmissionSettings): AdmissionState {
  return { limit: settings.maxLimit / 4 >= settings.minLimit ? settings.maxLimit / 4 : settings.minLimit, inFlight: 0, lastDecreaseAt: -Infinity };
}

/** Whether one more create may go to the tasks service now. */
export function mayAdmit(state: AdmissionState): boolean {
  return state.inFlight < Math.floor(state.limit);
}

/** Why a create is refused now, if it is: the limit on creations in flight, or a late event loop. */
export type AdmissionRefusal = 'in-flight' | 'loop-delay';

export function refusalOf(state: AdmissionState, loopDelayMs: number, settings: AdmissionSettings): AdmissionRefusal | undefined {
  if (!mayAdmit(state)) return 'in-flight';
  if (settings.maxLoopDelayMs > 0 && loopDelayMs > settings.maxLoopDelayMs) return 'loop-delay';
  return undefined;
}

/**
 * The limit after a create answered in `elapsedMs` at `now`. Additive increase (about +1 per
 * limit's worth of fast answers, so +1 per round trip) and multiplicative decrease by how far the
 * answer missed the target (×target/elapsed, between ×0.5 and ×0.9: a line ten times too long is
 * cut in a few steps, not twenty), at most once per target interval — the answers of one slow
 * round trip arrive together and are one signal, not `limit` of them.
 */
export function afterAnswer(state: AdmissionState, elapsedMs: number, now: number, settings: AdmissionSettings): AdmissionState {
  if (elapsedMs <= settings.targetMs) {
    return { ...state, limit: Math.min(settings.maxLimit, state.limit + 1 / state.limit) };
  }
  if (now - state.lastDecreaseAt < settings.targetMs) return state;
  const factor = Math.min(0.9, Math.max(0.5, settings.targetMs / elapsedMs));
  return { ...state, limit: Math.max(settings.minLimit, state.limit * factor), lastDecreaseAt: now };
}
