/*
 * The artifact store on an S3-compatible object store (ARTIFACT_STORE=s3): AWS S3, MinIO, Ceph,
 * R2… Everything lives in the bucket under `prefix`, nothing in Postgres:
 *   uploads/<uploadId>.json                 an unfinished upload (PendingUpload)
 *   blobs/<taskId>/<uploadId>/<seq, 6 digits>   its chunks, kept as they came (downloads read them one by one)
 *   tasks/<taskId>/<attempt, 5 digits>/<name>.json   the committed artifact (StoredArtifact) — the pointer
 * Commit checks the chunks, writes the pointer (a PUT replaces an object atomically: a reader gets
 * the old pointer or the new one), then deletes the replaced blob and the upload record. Two
 * commits of one name racing can leave one blob unreferenced (never a pointer to a deleted blob):
 * only the worker holding the attempt uploads, so this is rare, and costs bytes, not correctness.
 * Plain single-object calls only (no multipart, whose 5 MiB part minimum our 512 KiB chunks miss;
 * no DeleteObjects, whose checksum headers some S3-compatible servers refuse).
 * Invariants: see artifact-store.port.ts; proven by test/artifact-store.int.spec.ts when S3_URL is set.
 */
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, NoSuchKey, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { checkChunks, checkWhole, type ArtifactStore, type CommitOutcome, type PendingUpload, type StoredArtifact } from '../application/artifact-store.port';

export interface S3ArtifactStoreOptions {
  /** Endpoint of an S3-compatible server (`http://minio:9000`); absent for AWS S3 itself. */
  endpoint?: string;
  bucket: string;
  region: string;
  /** Key prefix inside the bucket, e.g. `agentyard/`. */
  prefix: string;
  /** Path-style URLs (`endpoint/bucket/key`), which most self-hosted servers need. */
  forcePathStyle: boolean;
  /** Explicit credentials; otherwise the SDK's standard chain (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, profiles, roles). */
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');

/** Runs `fn` over `items`, at most `limit` at once. */
async function eachLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

interface StoredJson extends Omit<StoredArtifact, 'createdAt'> {
  createdAt: string;
}
interface PendingJson extends Omit<PendingUpload, 'startedAt'> {
  startedAt: string;
}

export class S3ArtifactStore implements ArtifactStore {
  private readonly s3: S3Client;

  constructor(
    private readonly options: S3ArtifactStoreOptions,
    client?: S3Client,
  ) {
    const config: S3ClientConfig = {
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      // Checksums only where S3 requires them: S3-compatible servers differ in the newer ones.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
    };
    this.s3 = client ?? new S3Client(config);
  }

  close(): void {
    this.s3.destroy();
  }

  private key(...parts: string[]): string {
    return `${this.options.prefix}${parts.join('/')}`;
  }
  private uploadKey(uploadId: string): string {
    return this.key('uploads', `${uploadId}.json`);
  }
  private chunkKey(taskId: string, blobId: string, seq: number): string {
    return this.key('blobs', taskId, blobId, pad(seq, 6));
  }
  private pointerKey(taskId: string, attempt: number, name: string): string {
    return this.key('tasks', taskId, pad(attempt, 5), `${name}.json`);
  }

  private async getBytes(key: string): Promise<Buffer | undefined> {
    try {
      const res = await this.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray());
    } catch (error) {
      if (
        error instanceof NoSuchKey ||
        (error as { name?: string }).name === 'NoSuchKey' ||
        (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404
      )
        return undefined;
      throw error;
    }
  }

  private async getJson<T>(key: string): Promise<T | undefined> {
    const bytes = await this.getBytes(key);
    return bytes && (JSON.parse(bytes.toString('utf8')) as T);
  }

  private async put(key: string, body: Buffer | string, contentType: string): Promise<void> {
    await this.s3.send(new PutObjectCommand({ Bucket: this.options.bucket, Key: key, Body: body, ContentType: contentType }));
  }

  private async remove(key: string): Promise<void> {
    await this.s3.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key }));
  }

  /** Every object under `prefix`: key, size, last modified. */
  private async listAll(prefix: string): Promise<Array<{ key: string; size: number; lastModified: Date | undefined }>> {
    const out: Array<{ key: string; size: number; lastModified: Date | undefined }> = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async chunkSizes(taskId: string, blobId: string): Promise<Map<number, number>> {
    const prefix = this.key('blobs', taskId, blobId, '');
    return new Map((await this.listAll(prefix)).map((o) => [Number(o.key.slice(prefix.length)), o.size]));
  }

  private async removeBlob(taskId: string, blobId: string): Promise<void> {
    await eachLimited(await this.listAll(this.key('blobs', taskId, blobId, '')), 16, (o) => this.remove(o.key));
  }

  async beginUpload(u: PendingUpload): Promise<void> {
    const json: PendingJson = { ...u, startedAt: u.startedAt.toISOString() };
    await this.put(this.uploadKey(u.uploadId), JSON.stringify(json), 'application/json');
  }

  async pendingUpload(uploadId: string): Promise<PendingUpload | undefined> {
    const json = await this.getJson<PendingJson>(this.uploadKey(uploadId));
    return json && { ...json, startedAt: new Date(json.startedAt) };
  }

  async putChunk({ taskId, uploadId }: Pick<PendingUpload, 'taskId' | 'uploadId'>, seq: number, data: Buffer): Promise<void> {
    // Only into an unfinished upload: a late chunk must never change a committed artifact.
    const upload = await this.pendingUpload(uploadId);
    if (!upload || upload.taskId !== taskId) return;
    await this.put(this.chunkKey(taskId, uploadId, seq), data, 'application/octet-stream');
  }

  async commitUpload(uploadId: string, now: Date, maxBytes = Number.MAX_SAFE_INTEGER): Promise<CommitOutcome> {
    const upload = await this.pendingUpload(uploadId);
    if (!upload) return { committed: false, reason: 'no-such-upload' };
    const checked = await checkChunks(upload, maxBytes, await this.chunkSizes(upload.taskId, uploadId), (seq) =>
      this.getBytes(this.chunkKey(upload.taskId, uploadId, seq)),
    );
    if (!('ok' in checked)) return checked;
    return { committed: true, artifact: await this.publish(upload, checked, now) };
  }

  /**
   * Makes a checked upload the artifact of its (task, attempt, name): the pointer's overwrite is the
   * replacement; then the upload record and the replaced bytes go.
   */
  private async publish(upload: PendingUpload, checked: { bytes: number; chunks: number }, now: Date): Promise<StoredArtifact> {
    const uploadId = upload.uploadId;
    const artifact: StoredArtifact = {
      artifactId: uploadId,
      taskId: upload.taskId,
      attempt: upload.attempt,
      name: upload.name,
      bytes: checked.bytes,
      sha256: upload.sha256,
      contentType: upload.contentType,
      createdAt: now,
      chunks: checked.chunks,
    };
    const pointer = this.pointerKey(upload.taskId, upload.attempt, upload.name);
    const replaced = await this.getJson<StoredJson>(pointer);
    const json: StoredJson = { ...artifact, createdAt: now.toISOString() };
    await this.put(pointer, JSON.stringify(json), 'application/json');
    await this.remove(this.uploadKey(uploadId));
    if (replaced && replaced.artifactId !== uploadId) await this.removeBlob(upload.taskId, replaced.artifactId);
    return artifact;
  }

  /**
   * As begin, chunks and commit, without reading the chunks back to check them (they were checked
   * in memory). The upload record comes first, so a crash before the pointer leaves bytes the
   * janitor's removeAbandoned finds.
   */
  async storeWhole(u: PendingUpload, data: Buffer, chunkBytes: number, now: Date): Promise<CommitOutcome> {
    const { pieces, checked } = await checkWhole(u, data, chunkBytes);
    if (!('ok' in checked)) return checked;
    await this.beginUpload(u);
    await eachLimited([...pieces.entries()], 4, ([seq, piece]) => this.put(this.chunkKey(u.taskId, u.uploadId, seq), piece, 'application/octet-stream'));
    return { committed: true, artifact: await this.publish(u, checked, now) };
  }

  async abortUpload(uploadId: string): Promise<void> {
    const upload = await this.pendingUpload(uploadId);
    if (!upload) return;
    await this.remove(this.uploadKey(uploadId));
    await this.removeBlob(upload.taskId, uploadId);
  }

  async list(taskId: string): Promise<StoredArtifact[]> {
    const pointers = await this.listAll(this.key('tasks', taskId, ''));
    const found = await eachLimited(pointers, 16, (o) => this.getJson<StoredJson>(o.key));
    return found
      .filter((j): j is StoredJson => j !== undefined)
      .map((j) => ({ ...j, createdAt: new Date(j.createdAt) }))
      .sort((a, b) => b.attempt - a.attempt || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async find(taskId: string, name: string, attempt?: number): Promise<StoredArtifact | undefined> {
    let key: string | undefined;
    if (attempt !== undefined) key = this.pointerKey(taskId, attempt, name);
    else {
      // Keys sort by attempt (zero-padded), so the last match is the newest attempt's.
      key = (await this.listAll(this.key('tasks', taskId, '')))
        .map((o) => o.key)
        .filter((k) => k.endsWith(`/${name}.json`))
        .sort()
        .at(-1);
    }
    const json = key ? await this.getJson<StoredJson>(key) : undefined;
    return json && { ...json, createdAt: new Date(json.createdAt) };
  }

  readChunk({ taskId, artifactId }: Pick<StoredArtifact, 'taskId' | 'artifactId'>, seq: number): Promise<Buffer | undefined> {
    return this.getBytes(this.chunkKey(taskId, artifactId, seq));
  }

  async deleteTask(taskId: string): Promise<void> {
    for (const artifact of await this.list(taskId)) {
      await this.remove(this.pointerKey(taskId, artifact.attempt, artifact.name));
      await this.removeBlob(taskId, artifact.artifactId);
    }
  }

  async removeAbandoned(startedBefore: Date): Promise<number> {
    const prefix = this.key('uploads', '');
    let removed = 0;
    for (const o of await this.listAll(prefix)) {
      const uploadId = o.key.slice(prefix.length).replace(/\.json$/, '');
      const upload = await this.pendingUpload(uploadId);
      if (upload && upload.startedAt < startedBefore) {
        await this.abortUpload(uploadId);
        removed += 1;
      }
    }
    return removed;
  }
}
