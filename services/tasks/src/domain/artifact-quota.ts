/*
 * How much an attempt may still store. Pure: the tasks service asks it when an upload begins (to
 * refuse early and tell the gateway how many bytes to let through) and again at commit (the
 * authority: two uploads of one attempt may run at once). A new upload of a name the attempt
 * already stored replaces it, so that one does not count against the new one.
 * Tested in artifact-quota.unit.spec.ts.
 */
export interface ArtifactQuota {
  maxArtifactBytes: number;
  maxArtifactsPerAttempt: number;
  maxAttemptBytes: number;
}

export type UploadAllowance =
  { allowed: true; maxBytes: number } | { allowed: false; code: 'PAYLOAD_TOO_LARGE' | 'CONFLICT'; reason: string; details: Record<string, number> };

const mib = (bytes: number): string => `${Math.round((bytes / (1024 * 1024)) * 100) / 100} MiB`;

/**
 * Whether `name` (`bytes` long, when known) fits next to what the attempt already stored
 * (`stored`: each committed artifact's name and size), and the most bytes it may have.
 */
export function uploadAllowance(
  stored: ReadonlyArray<{ name: string; bytes: number }>,
  name: string,
  bytes: number | undefined,
  quota: ArtifactQuota,
): UploadAllowance {
  const others = stored.filter((a) => a.name !== name);
  if (others.length >= quota.maxArtifactsPerAttempt) {
    return {
      allowed: false,
      code: 'CONFLICT',
      reason: `this attempt already stored ${others.length} artifacts, the most one attempt may store`,
      details: { maxArtifactsPerAttempt: quota.maxArtifactsPerAttempt },
    };
  }
  const used = others.reduce((sum, a) => sum + a.bytes, 0);
  const maxBytes = Math.max(0, Math.min(quota.maxArtifactBytes, quota.maxAttemptBytes - used));
  if (bytes !== undefined && bytes > quota.maxArtifactBytes) {
    return {
      allowed: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `an artifact may be at most ${mib(quota.maxArtifactBytes)}; this one is ${mib(bytes)}`,
      details: { maxArtifactBytes: quota.maxArtifactBytes, bytes },
    };
  }
  if (bytes !== undefined && bytes > maxBytes) {
    return {
      allowed: false,
      code: 'PAYLOAD_TOO_LARGE',
      reason: `this attempt may store ${mib(quota.maxAttemptBytes)} in all and has ${mib(quota.maxAttemptBytes - used)} left; this artifact is ${mib(bytes)}`,
      details: { maxAttemptBytes: quota.maxAttemptBytes, usedBytes: used, bytes },
    };
  }
  return { allowed: true, maxBytes };
}
