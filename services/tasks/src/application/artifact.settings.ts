/** Limits and timings of logs and artifacts (from config.ts: ARTIFACT_* variables). */
import type { ArtifactQuota } from '../domain/artifact-quota';

export const ARTIFACT_SETTINGS = Symbol('ARTIFACT_SETTINGS');

export interface ArtifactSettings {
  quota: ArtifactQuota;
  /** Largest chunk of one NATS message, raw bytes (512 KiB). */
  chunkBytes: number;
  /** An upload not committed this long after it began is dropped. */
  abandonAfterMs: number;
  /** Pause between two sweeps for abandoned uploads. */
  sweepIntervalMs: number;
}
