/*
 * The storage port for attempts' logs and artifacts, with a Postgres adapter (default; the tasks
 * database) and an S3-compatible one (ARTIFACT_STORE=s3). Invariants every adapter keeps, proven
 * by one contract suite run against each (test/artifact-store.contract.ts):
 *  - an upload is invisible until committed whole: commit checks that its chunks run 0..n-1 with
 *    no gap, and their size and SHA-256 against what the upload declared;
 *  - a committed upload replaces the artifact of the same (task, attempt, name) at once: a reader
 *    sees the old one or the new one, never a mix or neither;
 *  - an unfinished upload can be dropped (abort, or removeAbandoned after it is left behind).
 * The fence (who may upload) and the quotas are the handlers' business, not the store's.
 */
import { createHash } from 'node:crypto';

export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');

/** An upload under way, as begun. */
export interface PendingUpload {
  uploadId: string;
  taskId: string;
  attempt: number;
  name: string;
  workerId: string;
  /** Declared SHA-256 (hex), checked at commit. */
  sha256: string;
  /** Declared size, when the client sent one; checked at commit. */
  declaredBytes: number | null;
  /** Most bytes this upload may hold (the quota left when it began). */
  maxBytes: number;
  contentType: string;
  startedAt: Date;
}

/** A committed artifact. `artifactId` names its bytes (the upload that stored them). */
export interface StoredArtifact {
  artifactId: string;
  taskId: string;
  attempt: number;
  name: string;
  bytes: number;
  sha256: string;
  contentType: string;
  createdAt: Date;
  chunks: number;
}

export type CommitOutcome =
  | { committed: true; artifact: StoredArtifact }
  | { committed: false; reason: 'no-such-upload' }
  | { committed: false; reason: 'missing-chunk'; seq: number }
  | { committed: false; reason: 'size-mismatch' | 'sha256-mismatch'; bytes: number; sha256: string };

export interface ArtifactStore {
  /** Records an upload that has begun (nothing is visible yet). */
  beginUpload(upload: PendingUpload): Promise<void>;
  /** The upload, while it is unfinished. */
  pendingUpload(uploadId: string): Promise<PendingUpload | undefined>;
  /** Stores chunk `seq` of an unfinished upload; the same seq again replaces it. */
  putChunk(upload: Pick<PendingUpload, 'taskId' | 'uploadId'>, seq: number, data: Buffer): Promise<void>;
  /**
   * Checks the upload whole — at most `maxBytes` (never more than its own limit) — and, when it
   * is right, makes it the artifact of its (task, attempt, name). A refused upload stays unfinished.
   */
  commitUpload(uploadId: string, now: Date, maxBytes?: number): Promise<CommitOutcome>;
  /**
   * Stores a whole artifact at once, in pieces of `chunkBytes`: checked as commitUpload checks
   * (the upload's declared size and SHA-256, at most its maxBytes) and, when right, made the
   * artifact of its (task, attempt, name); a refused one leaves nothing behind.
   */
  storeWhole(upload: PendingUpload, data: Buffer, chunkBytes: number, now: Date): Promise<CommitOutcome>;
  /** Drops an unfinished upload and its chunks (nothing when it is unknown or committed). */
  abortUpload(uploadId: string): Promise<void>;
  /** A task's artifacts: newest attempt first, then by name. */
  list(taskId: string): Promise<StoredArtifact[]>;
  /** One artifact; without `attempt`, the newest attempt's that has `name`. */
  find(taskId: string, name: string, attempt?: number): Promise<StoredArtifact | undefined>;
  /** Chunk `seq` of a committed artifact of the task; undefined once it was replaced or deleted (or is another task's). */
  readChunk(artifact: Pick<StoredArtifact, 'taskId' | 'artifactId'>, seq: number): Promise<Buffer | undefined>;
  /** Deletes every artifact of a task (its uploads under way are left to removeAbandoned). */
  deleteTask(taskId: string): Promise<void>;
  /** Drops uploads begun before `startedBefore` and never committed; how many. */
  removeAbandoned(startedBefore: Date): Promise<number>;
}

/**
 * The commit check both adapters run: chunks `0..n-1` present (`sizes[seq]`), read in order and
 * hashed without holding more than one chunk, against the upload's declared size and SHA-256.
 */
export async function checkChunks(
  upload: PendingUpload,
  maxBytes: number,
  sizes: ReadonlyMap<number, number>,
  read: (seq: number) => Promise<Buffer | undefined>,
): Promise<{ ok: true; bytes: number; chunks: number } | Exclude<CommitOutcome, { committed: true } | { reason: 'no-such-upload' }>> {
  const chunks = sizes.size;
  for (let seq = 0; seq < chunks; seq++) if (!sizes.has(seq)) return { committed: false, reason: 'missing-chunk', seq };
  const bytes = [...sizes.values()].reduce((a, b) => a + b, 0);
  const hash = createHash('sha256');
  for (let seq = 0; seq < chunks; seq++) {
    const data = await read(seq);
    if (!data) return { committed: false, reason: 'missing-chunk', seq };
    hash.update(data);
  }
  const sha256 = hash.digest('hex');
  if ((upload.declaredBytes !== null && bytes !== upload.declaredBytes) || bytes > Math.min(maxBytes, upload.maxBytes)) {
    return { committed: false, reason: 'size-mismatch', bytes, sha256 };
  }
  if (sha256 !== upload.sha256) return { committed: false, reason: 'sha256-mismatch', bytes, sha256 };
  return { ok: true, bytes, chunks };
}

/**
 * A whole artifact held in memory, laid out as every adapter stores it — pieces of `chunkBytes`,
 * none when empty — and checked as a commit checks its chunks (checkChunks).
 */
export async function checkWhole(
  upload: PendingUpload,
  data: Buffer,
  chunkBytes: number,
): Promise<{ pieces: Buffer[]; checked: Awaited<ReturnType<typeof checkChunks>> }> {
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += chunkBytes) pieces.push(data.subarray(at, at + chunkBytes));
  const sizes = new Map(pieces.map((piece, seq) => [seq, piece.length]));
  return { pieces, checked: await checkChunks(upload, upload.maxBytes, sizes, (seq) => Promise.resolve(pieces[seq])) };
}
