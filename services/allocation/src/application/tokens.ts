/** Injection tokens of allocation's resources opened in main.ts. */
export const EVENT_STORE = Symbol('EVENT_STORE');
export const ALLOCATION_SETTINGS = Symbol('ALLOCATION_SETTINGS');

export interface AllocationSettings {
  /** Milliseconds between safety-net passes. */
  safetyNetIntervalMs: number;
  /** Pending tasks considered per pass (more → another pass right after). Default 500. */
  batchSize?: number;
}
