/** Injection tokens of allocation's resources opened in main.ts. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const ALLOCATION_SETTINGS = Symbol('ALLOCATION_SETTINGS');

export interface AllocationSettings {
  /** Milliseconds between safety-net passes. */
  safetyNetIntervalMs: number;
  /** Largest page of pending tasks a pass reads at once (it reads up to ten). Default 500. */
  batchSize?: number;
}
