/*
 * Logs and artifacts of task attempts: the HTTP answers and the NATS messages between the gateway
 * and the tasks service, which owns them. NATS messages are capped at 1 MiB, so bytes travel in
 * chunks of at most artifactLimits.chunkBytes (base64 in JSON): an upload is begun, fed chunk by
 * chunk in order and committed (size and SHA-256 checked), and a download reads chunk by chunk.
 */
import { z } from 'zod';
import { text } from '../common/text';
import { commandSubject, querySubject } from '../common/subjects';
import { artifactLimits, artifactNamePattern } from './artifact-names';
import { actorSchema } from './task.schemas';

export * from './artifact-names';

const id = text().min(1).max(64);
const attempt = z.number().int().min(1).max(10_000);

/** An artifact name (see artifactNamePattern): a 400 that says what a name may be. */
export const artifactNameSchema = text().regex(
  artifactNamePattern,
  'an artifact name is 1–128 letters, digits, dots, dashes and underscores, not starting with a dot (no slashes)',
);

/** A SHA-256 in lowercase hex. */
export const sha256HexSchema = text().regex(/^[0-9a-f]{64}$/, 'a SHA-256 is 64 lowercase hex digits');

/** One stored artifact of one attempt. */
export const artifactSchema = z
  .object({
    name: text(),
    attempt: z.number().int(),
    bytes: z.number().int().min(0),
    sha256: text(),
    contentType: text(),
    createdAt: text(),
  })
  .meta({ id: 'Artifact' });
export type Artifact = z.infer<typeof artifactSchema>;

/** `GET /tasks/{id}/artifacts`: newest attempt first, then by name. */
export const artifactListSchema = z.object({ items: z.array(artifactSchema) }).meta({ id: 'ArtifactList' });
export type ArtifactList = z.infer<typeof artifactListSchema>;

/** The answer to an upload (201). */
export const artifactUploadedSchema = z
  .object({ name: text(), attempt: z.number().int(), bytes: z.number().int(), sha256: text() })
  .meta({ id: 'ArtifactUploaded' });
export type ArtifactUploaded = z.infer<typeof artifactUploadedSchema>;

/** `?attempt=N` of a download; without it, the newest attempt that stored the name. */
export const artifactQuerySchema = z
  .object({ attempt: z.coerce.number().int().min(1, 'attempt counts from 1').max(10_000).optional() })
  .strict()
  .meta({ id: 'ArtifactQuery' });
export type ArtifactQuery = z.infer<typeof artifactQuerySchema>;

// NATS messages (gateway → tasks) ---------------------------------------------------------------

export const artifactSubjects = {
  /** Fenced: the worker must hold the task's current live attempt; quotas checked. → ArtifactUploadStarted */
  beginUpload: commandSubject('tasks', 'BeginArtifactUpload'),
  /** One chunk, in order from 0. → `{ ok: true }` */
  putChunk: commandSubject('tasks', 'PutArtifactChunk'),
  /** Size and SHA-256 checked (400 when they differ), fence again, then visible at once. → ArtifactUploaded */
  commitUpload: commandSubject('tasks', 'CommitArtifactUpload'),
  /**
   * A whole artifact of at most artifactLimits.chunkBytes in one message: fenced, quota, size and
   * SHA-256 checked, visible at once — one round trip where begin, chunk and commit take three
   * (an attempt's log is usually this small, and its `finished` report waits for it). → ArtifactUploaded
   */
  putArtifact: commandSubject('tasks', 'PutArtifact'),
  /** Drops an unfinished upload (the client went away, or sent too much). → `{ ok: true }` */
  abortUpload: commandSubject('tasks', 'AbortArtifactUpload'),
  /** The owner's view of a task's artifacts. → ArtifactList */
  list: querySubject('tasks', 'ListArtifacts'),
  /** One artifact's descriptor (which chunks to read). → ArtifactDescriptor */
  get: querySubject('tasks', 'GetArtifact'),
  /** One chunk of a stored artifact. → ArtifactChunk */
  readChunk: querySubject('tasks', 'ReadArtifactChunk'),
} as const;

/** The gateway has authenticated the worker; `bytes` is the declared size (Content-Length) when known. */
export const beginArtifactUploadSchema = z.object({
  workerId: id,
  taskId: id,
  attempt,
  name: artifactNameSchema,
  sha256: sha256HexSchema,
  bytes: z.number().int().min(0).optional(),
});
export type BeginArtifactUpload = z.infer<typeof beginArtifactUploadSchema>;

/** An upload under way: the gateway sends at most `maxBytes`, in chunks of at most `chunkBytes`. */
export const artifactUploadStartedSchema = z.object({
  uploadId: text(),
  chunkBytes: z.number().int().min(1),
  maxBytes: z.number().int().min(0),
});
export type ArtifactUploadStarted = z.infer<typeof artifactUploadStartedSchema>;

/** Base64 of at most chunkBytes raw bytes. */
const base64Chunk = text()
  .max(Math.ceil(artifactLimits.chunkBytes / 3) * 4)
  .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'a chunk is base64');

export const putArtifactChunkSchema = z.object({ workerId: id, uploadId: id, seq: z.number().int().min(0).max(1_000_000), data: base64Chunk });
export type PutArtifactChunk = z.infer<typeof putArtifactChunkSchema>;

/** A whole artifact in one message: what begin declares, and its bytes. */
export const putArtifactSchema = beginArtifactUploadSchema.extend({ data: base64Chunk });
export type PutArtifact = z.infer<typeof putArtifactSchema>;

export const artifactUploadRefSchema = z.object({ workerId: id, uploadId: id });
export type ArtifactUploadRef = z.infer<typeof artifactUploadRefSchema>;

export const listArtifactsQuerySchema = z.object({ actor: actorSchema, taskId: id });
export const getArtifactQuerySchema = z.object({ actor: actorSchema, taskId: id, name: artifactNameSchema, attempt: attempt.optional() });
export type GetArtifactQuery = z.infer<typeof getArtifactQuerySchema>;

/** What a download reads: the artifact, the id of its stored bytes and how many chunks they are. */
export const artifactDescriptorSchema = artifactSchema.extend({ artifactId: text(), chunks: z.number().int().min(0) });
export type ArtifactDescriptor = z.infer<typeof artifactDescriptorSchema>;

export const readArtifactChunkQuerySchema = z.object({ actor: actorSchema, taskId: id, artifactId: id, seq: z.number().int().min(0).max(1_000_000) });
export type ReadArtifactChunkQuery = z.infer<typeof readArtifactChunkQuerySchema>;

/** One chunk, base64. */
export const artifactChunkSchema = z.object({ data: text() });
export type ArtifactChunk = z.infer<typeof artifactChunkSchema>;
