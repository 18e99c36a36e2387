/*
 * The contract every ArtifactStore adapter keeps (artifact-store.port.ts), one suite run against
 * each: Postgres always, S3 when S3_URL is set (artifact-store.int.spec.ts). Without a server the
 * suite is reported as skipped, not passed, and the reason is printed at run time.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { ArtifactStore, PendingUpload } from '../src/application/artifact-store.port';

export interface ArtifactStoreUnderTest {
  store: ArtifactStore;
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;
const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

export function describeArtifactStoreContract(name: string, factory: () => Promise<ArtifactStoreUnderTest>, options: { skipBecause?: string } = {}): void {
  if (options.skipBecause) process.stderr.write(`${name} (artifact store contract) skipped: ${options.skipBecause}\n`);
  const describeOrSkip = options.skipBecause ? describe.skip : describe;
  describeOrSkip(`${name} (artifact store contract)${options.skipBecause ? ` — skipped: ${options.skipBecause}` : ''}`, () => {
    let subject: ArtifactStoreUnderTest;
    let store: ArtifactStore;
    beforeAll(async () => {
      subject = await factory();
      store = subject.store;
    });
    afterAll(() => subject?.close());

    /** What an upload of `data` declares (its sha and size unless overridden). */
    const declare = (taskId: string, attempt: number, artifactName: string, data: Buffer, declared: Partial<PendingUpload> = {}): PendingUpload => ({
      uploadId: randomUUID(),
      taskId,
      attempt,
      name: artifactName,
      workerId: 'w-1',
      sha256: sha256(data),
      declaredBytes: data.length,
      maxBytes: 1024 * 1024,
      contentType: 'application/octet-stream',
      startedAt: new Date(),
      ...declared,
    });

    /** Begins an upload of `data` (declared sha and size unless overridden) and puts its chunks in order. */
    async function upload(taskId: string, attempt: number, artifactName: string, data: Buffer, declared: Partial<PendingUpload> = {}): Promise<PendingUpload> {
      const pending = declare(taskId, attempt, artifactName, data, declared);
      await store.beginUpload(pending);
      for (let seq = 0; seq * CHUNK < data.length; seq++) await store.putChunk(pending, seq, data.subarray(seq * CHUNK, (seq + 1) * CHUNK));
      return pending;
    }

    async function readAll(taskId: string, artifactId: string, chunks: number): Promise<Buffer | undefined> {
      const parts: Buffer[] = [];
      for (let seq = 0; seq < chunks; seq++) {
        const part = await store.readChunk({ taskId, artifactId }, seq);
        if (!part) return undefined;
        parts.push(part);
      }
      return Buffer.concat(parts);
    }

    describe('an upload', () => {
      it('is invisible until committed, then listed, found and read back byte for byte', async () => {
        const taskId = randomUUID();
        const data = randomBytes(3 * CHUNK + 123);
        const pending = await upload(taskId, 1, 'out.bin', data);
        expect(await store.list(taskId)).toEqual([]);
        expect(await store.find(taskId, 'out.bin')).toBeUndefined();
        expect(await store.pendingUpload(pending.uploadId)).toMatchObject({ taskId, attempt: 1, name: 'out.bin', declaredBytes: data.length });

        const outcome = await store.commitUpload(pending.uploadId, new Date('2026-12-08T10:00:00.000Z'));
        expect(outcome).toMatchObject({
          committed: true,
          artifact: { taskId, attempt: 1, name: 'out.bin', bytes: data.length, sha256: sha256(data), chunks: 4 },
        });
        expect(await store.pendingUpload(pending.uploadId)).toBeUndefined();
        const found = await store.find(taskId, 'out.bin');
        expect(found).toMatchObject({ bytes: data.length, sha256: sha256(data), createdAt: new Date('2026-12-08T10:00:00.000Z') });
        expect(await readAll(taskId, found!.artifactId, found!.chunks)).toEqual(data);
      });

      it('may be empty', async () => {
        const taskId = randomUUID();
        const pending = await upload(taskId, 1, 'empty.txt', Buffer.alloc(0));
        expect(await store.commitUpload(pending.uploadId, new Date())).toMatchObject({ committed: true, artifact: { bytes: 0, chunks: 0 } });
      });

      it('is refused at commit when its SHA-256, its size or a chunk is wrong, and stays invisible', async () => {
        const taskId = randomUUID();
        const data = randomBytes(2 * CHUNK);
        const wrongSha = await upload(taskId, 1, 'a', data, { sha256: sha256(Buffer.from('other')) });
        expect(await store.commitUpload(wrongSha.uploadId, new Date())).toEqual({
          committed: false,
          reason: 'sha256-mismatch',
          bytes: data.length,
          sha256: sha256(data),
        });
        const wrongSize = await upload(taskId, 1, 'b', data, { declaredBytes: data.length + 1 });
        expect(await store.commitUpload(wrongSize.uploadId, new Date())).toMatchObject({ committed: false, reason: 'size-mismatch', bytes: data.length });
        const overLimit = await upload(taskId, 1, 'c', data);
        expect(await store.commitUpload(overLimit.uploadId, new Date(), CHUNK)).toMatchObject({ committed: false, reason: 'size-mismatch' });
        const gap = await upload(taskId, 1, 'd', Buffer.alloc(0), { sha256: sha256(data), declaredBytes: null });
        await store.putChunk(gap, 1, data.subarray(CHUNK));
        expect(await store.commitUpload(gap.uploadId, new Date())).toEqual({ committed: false, reason: 'missing-chunk', seq: 0 });
        expect(await store.list(taskId)).toEqual([]);
        expect(await store.commitUpload(randomUUID(), new Date())).toEqual({ committed: false, reason: 'no-such-upload' });
      });

      it('is dropped whole by an abort', async () => {
        const taskId = randomUUID();
        const pending = await upload(taskId, 1, 'a', randomBytes(CHUNK));
        await store.abortUpload(pending.uploadId);
        expect(await store.pendingUpload(pending.uploadId)).toBeUndefined();
        expect(await store.commitUpload(pending.uploadId, new Date())).toEqual({ committed: false, reason: 'no-such-upload' });
        await store.abortUpload(randomUUID()); // unknown: nothing to do, no error
      });

      it('left behind is dropped by removeAbandoned, while a newer one and committed artifacts stay', async () => {
        const taskId = randomUUID();
        const old = await upload(taskId, 1, 'old', randomBytes(10), { startedAt: new Date(Date.now() - 3_600_000) });
        const fresh = await upload(taskId, 1, 'fresh', randomBytes(10));
        const done = await upload(taskId, 1, 'done', randomBytes(10), { startedAt: new Date(Date.now() - 3_600_000) });
        await store.commitUpload(done.uploadId, new Date());
        expect(await store.removeAbandoned(new Date(Date.now() - 60_000))).toBeGreaterThanOrEqual(1);
        expect(await store.pendingUpload(old.uploadId)).toBeUndefined();
        expect(await store.pendingUpload(fresh.uploadId)).toBeDefined();
        expect((await store.list(taskId)).map((a) => a.name)).toEqual(['done']);
      });
    });

    describe('a whole artifact stored at once', () => {
      const whole = (taskId: string, attempt: number, artifactName: string, data: Buffer, declared: Partial<PendingUpload> = {}): PendingUpload =>
        declare(taskId, attempt, artifactName, data, { contentType: 'text/plain; charset=utf-8', ...declared });

      it('is visible at once, in pieces of the chunk size, and read back byte for byte', async () => {
        const taskId = randomUUID();
        const data = randomBytes(2 * CHUNK + 5);
        const outcome = await store.storeWhole(whole(taskId, 1, 'log', data), data, CHUNK, new Date('2026-12-08T11:00:00.000Z'));
        expect(outcome).toMatchObject({ committed: true, artifact: { taskId, attempt: 1, name: 'log', bytes: data.length, sha256: sha256(data), chunks: 3 } });
        const found = (await store.find(taskId, 'log'))!;
        expect(found).toMatchObject({
          bytes: data.length,
          chunks: 3,
          contentType: 'text/plain; charset=utf-8',
          createdAt: new Date('2026-12-08T11:00:00.000Z'),
        });
        expect(await readAll(taskId, found.artifactId, found.chunks)).toEqual(data);
        // Nothing of it is an upload under way (the janitor has nothing to sweep).
        expect(await store.pendingUpload(found.artifactId)).toBeUndefined();
      });

      it('may be empty', async () => {
        const taskId = randomUUID();
        const empty = Buffer.alloc(0);
        expect(await store.storeWhole(whole(taskId, 1, 'log', empty), empty, CHUNK, new Date())).toMatchObject({
          committed: true,
          artifact: { bytes: 0, chunks: 0 },
        });
        expect(await store.find(taskId, 'log')).toMatchObject({ bytes: 0, chunks: 0 });
      });

      it('replaces the artifact of its task, attempt and name, the old bytes gone', async () => {
        const taskId = randomUUID();
        const first = randomBytes(CHUNK + 1);
        const second = randomBytes(10);
        await store.commitUpload((await upload(taskId, 1, 'log', first)).uploadId, new Date());
        const before = (await store.find(taskId, 'log'))!;
        await store.storeWhole(whole(taskId, 1, 'log', second), second, CHUNK, new Date());
        expect((await store.list(taskId)).map((a) => [a.name, a.bytes])).toEqual([['log', 10]]);
        expect(await readAll(taskId, (await store.find(taskId, 'log'))!.artifactId, 1)).toEqual(second);
        expect(await store.readChunk({ taskId, artifactId: before.artifactId }, 0)).toBeUndefined();
      });

      it('is refused when its SHA-256 or its size is not what was declared, or over its limit, and leaves the current one in place', async () => {
        const taskId = randomUUID();
        const current = randomBytes(100);
        await store.storeWhole(whole(taskId, 1, 'log', current), current, CHUNK, new Date());
        const data = randomBytes(CHUNK + 3);
        expect(await store.storeWhole(whole(taskId, 1, 'log', data, { sha256: sha256(Buffer.from('other')) }), data, CHUNK, new Date())).toEqual({
          committed: false,
          reason: 'sha256-mismatch',
          bytes: data.length,
          sha256: sha256(data),
        });
        expect(await store.storeWhole(whole(taskId, 1, 'log', data, { declaredBytes: data.length - 1 }), data, CHUNK, new Date())).toMatchObject({
          committed: false,
          reason: 'size-mismatch',
          bytes: data.length,
        });
        expect(await store.storeWhole(whole(taskId, 1, 'log', data, { maxBytes: CHUNK }), data, CHUNK, new Date())).toMatchObject({
          committed: false,
          reason: 'size-mismatch',
        });
        expect((await store.list(taskId)).map((a) => [a.name, a.bytes, a.sha256])).toEqual([['log', 100, sha256(current)]]);
        expect(await readAll(taskId, (await store.find(taskId, 'log'))!.artifactId, 1)).toEqual(current);
      });
    });

    describe('a new upload of the same task, attempt and name', () => {
      it('replaces the artifact at commit: one listed, the new bytes read, the old ones gone', async () => {
        const taskId = randomUUID();
        const first = randomBytes(2 * CHUNK);
        const second = randomBytes(CHUNK + 7);
        await store.commitUpload((await upload(taskId, 2, 'log', first)).uploadId, new Date());
        const before = (await store.find(taskId, 'log'))!;
        const replacing = await upload(taskId, 2, 'log', second);
        // Until the new one commits, readers keep the old one whole.
        expect(await readAll(taskId, before.artifactId, before.chunks)).toEqual(first);
        await store.commitUpload(replacing.uploadId, new Date());
        const after = (await store.find(taskId, 'log', 2))!;
        expect(after).toMatchObject({ bytes: second.length, sha256: sha256(second) });
        expect(await readAll(taskId, after.artifactId, after.chunks)).toEqual(second);
        expect(await store.readChunk({ taskId, artifactId: before.artifactId }, 0)).toBeUndefined();
        expect((await store.list(taskId)).filter((a) => a.name === 'log')).toHaveLength(1);
      });

      it('that fails its check leaves the old one in place', async () => {
        const taskId = randomUUID();
        const first = randomBytes(100);
        await store.commitUpload((await upload(taskId, 1, 'diff.patch', first)).uploadId, new Date());
        const bad = await upload(taskId, 1, 'diff.patch', randomBytes(100), { sha256: sha256(first) });
        expect(await store.commitUpload(bad.uploadId, new Date())).toMatchObject({ committed: false, reason: 'sha256-mismatch' });
        expect(await store.find(taskId, 'diff.patch')).toMatchObject({ sha256: sha256(first) });
      });

      it('cannot be changed by a chunk sent after its commit', async () => {
        const taskId = randomUUID();
        const data = randomBytes(CHUNK);
        const pending = await upload(taskId, 1, 'x', data);
        await store.commitUpload(pending.uploadId, new Date());
        await store.putChunk(pending, 0, randomBytes(CHUNK));
        const found = (await store.find(taskId, 'x'))!;
        expect(await readAll(taskId, found.artifactId, found.chunks)).toEqual(data);
      });
    });

    describe("a task's artifacts", () => {
      it('are listed newest attempt first, then by name, and found by default in the newest attempt that has the name', async () => {
        const taskId = randomUUID();
        for (const [attempt, n] of [
          [1, 'log'],
          [1, 'b.txt'],
          [2, 'log'],
          [3, 'a.txt'],
        ] as const) {
          await store.commitUpload((await upload(taskId, attempt, n, Buffer.from(`${attempt}:${n}`))).uploadId, new Date());
        }
        expect((await store.list(taskId)).map((a) => `${a.attempt}:${a.name}`)).toEqual(['3:a.txt', '2:log', '1:b.txt', '1:log']);
        expect(await store.find(taskId, 'log')).toMatchObject({ attempt: 2 });
        expect(await store.find(taskId, 'log', 1)).toMatchObject({ attempt: 1 });
        expect(await store.find(taskId, 'log', 3)).toBeUndefined();
        expect(await store.find(taskId, 'lo')).toBeUndefined();
      });

      it("are not readable through another task's id", async () => {
        const taskId = randomUUID();
        await store.commitUpload((await upload(taskId, 1, 'log', randomBytes(10))).uploadId, new Date());
        const { artifactId } = (await store.find(taskId, 'log'))!;
        expect(await store.readChunk({ taskId: randomUUID(), artifactId }, 0)).toBeUndefined();
        expect(await store.readChunk({ taskId, artifactId }, 0)).toBeDefined();
      });

      it('are deleted with the task, and no other task’s are', async () => {
        const [doomed, kept] = [randomUUID(), randomUUID()];
        for (const taskId of [doomed, kept]) {
          for (const n of ['log', 'diff.patch']) await store.commitUpload((await upload(taskId, 1, n, randomBytes(CHUNK + 1))).uploadId, new Date());
        }
        const gone = (await store.find(doomed, 'log'))!;
        await store.deleteTask(doomed);
        expect(await store.list(doomed)).toEqual([]);
        expect(await store.readChunk({ taskId: doomed, artifactId: gone.artifactId }, 0)).toBeUndefined();
        expect((await store.list(kept)).map((a) => a.name)).toEqual(['diff.patch', 'log']);
      });
    });
  });
}
