/*
 * What the worker agent and the platform agree on about an attempt's stored files (its full log,
 * its diff and the files a task declares): the names, the limits and how each is served. Kept
 * apart from artifact.schemas.ts so the agent's entry point (`@agentyard/contracts/agent`) can
 * carry it without the NATS message schemas.
 */

/** An artifact name: one path segment, no leading dot, at most 128 characters. */
export const artifactNamePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** The names the agent itself writes for each attempt. */
export const reservedArtifactNames = {
  /** The attempt's full output, uploaded when the attempt ends (before its `finished` report). */
  log: 'log',
  /** `git diff` of the attempt's workspace. */
  diffPatch: 'diff.patch',
  /** `git diff --stat` of the attempt's workspace. */
  diffStat: 'diff.stat',
} as const;

/** Default limits; the tasks service's config can lower or raise them (ARTIFACT_* variables). */
export const artifactLimits = {
  /** Largest piece of an artifact carried in one NATS message (raw bytes; base64 in JSON). */
  chunkBytes: 512 * 1024,
  /** Largest artifact. */
  maxArtifactBytes: 64 * 1024 * 1024,
  /** Most artifacts one attempt may store. */
  maxArtifactsPerAttempt: 100,
  /** Most bytes one attempt may store, all artifacts together. */
  maxAttemptBytes: 256 * 1024 * 1024,
} as const;

/** The upload's SHA-256 (64 lowercase hex digits), which the platform checks before keeping it. */
export const artifactSha256Header = 'x-content-sha256';

/** Where the agent PUTs an artifact (body `application/octet-stream`, credential `Authorization: Worker ayw_…`). */
export function artifactUploadPath(workerId: string, taskId: string, attempt: number, name: string): string {
  return `/api/v1/workers/${encodeURIComponent(workerId)}/tasks/${encodeURIComponent(taskId)}/attempts/${attempt}/artifacts/${encodeURIComponent(name)}`;
}

const textNames = new Set<string>(Object.values(reservedArtifactNames));
const textExtensions = /\.(txt|md|json|patch|diff|log)$/i;

/** The content type an artifact is served with: plain text for logs, diffs and text files, else bytes. Never HTML. */
export function artifactContentType(name: string): 'text/plain; charset=utf-8' | 'application/octet-stream' {
  return textNames.has(name) || textExtensions.test(name) ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}
