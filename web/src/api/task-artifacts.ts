/*
 * A task's stored artifacts and full log (GET /tasks/{id}/artifacts, …/artifacts/{name},
 * …/logs) through the session's openapi-fetch client, so they carry the bearer token in a header
 * (never in a URL), refresh on a 401, and fail as ApiError. Bytes come back as a Blob; `saveBlob`
 * hands one to the browser as a download.
 */
import { unwrap, type ApiClient, type Schemas } from './client';

/** `log`, `diff.patch`, `diff.stat` (written by the agent) or a file the task declared. */
export type TaskArtifact = Schemas['Artifact'];

export async function listTaskArtifacts(api: ApiClient, taskId: string): Promise<TaskArtifact[]> {
  const body = await unwrap(api.GET('/api/v1/tasks/{id}/artifacts', { params: { path: { id: taskId } } }));
  return body.items;
}

/** One artifact's bytes (an empty artifact is an empty Blob). */
export async function fetchTaskArtifact(api: ApiClient, taskId: string, name: string, attempt: number): Promise<Blob> {
  const call = api.GET('/api/v1/tasks/{id}/artifacts/{name}', { params: { path: { id: taskId, name }, query: { attempt } }, parseAs: 'blob' });
  return ((await unwrap(call)) as Blob | undefined) ?? new Blob([]);
}

/** An attempt's full terminal output (404 until the agent has stored it). */
export async function fetchTaskLog(api: ApiClient, taskId: string, attempt: number): Promise<Blob> {
  const call = api.GET('/api/v1/tasks/{id}/logs', { params: { path: { id: taskId }, query: { attempt } }, parseAs: 'blob' });
  return ((await unwrap(call)) as Blob | undefined) ?? new Blob([], { type: 'text/plain' });
}

/** Offers a Blob as a download under `filename`, through a short-lived object URL. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.rel = 'noopener';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke after the click has been handled; revoking at once can cancel the download in some browsers.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
