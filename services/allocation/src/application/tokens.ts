import type { Envelope } from '@agentyard/contracts';

/** Injection tokens of allocation's resources opened in main.ts. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const ALLOCATION_SETTINGS = Symbol('ALLOCATION_SETTINGS');

export interface AllocationSettings {
  /** Milliseconds between safety-net passes. */
  safetyNetIntervalMs: number;
  /** Largest page of pending tasks a pass reads at once (it reads up to ten). Default 500. */
  batchSize?: number;
}

/** Where a stored decision is told to tasks at once (an event hint: messaging's event-hints.ts; the module wires it). */
export const DECISION_HINTS = Symbol('DECISION_HINTS');

export interface DecisionHints {
  /** `events` (an AllocationDecided, committed) decided `taskId`; never throws. */
  decided(taskId: string, events: readonly Envelope[]): void;
}
