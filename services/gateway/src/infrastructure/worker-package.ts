/*
 * The worker agent package the platform serves (infra/scripts/pack-worker.mjs writes it with the
 * build): `agentyard-worker-<version>.tgz` and its manifest `agentyard-worker.json` in
 * DOWNLOADS_DIR. Read from disk when asked (a rebuild while the gateway runs is served at once),
 * re-parsed only when the manifest's mtime changes.
 */
import { createReadStream, existsSync, readFileSync, statSync, type ReadStream } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const workerPackageManifestName = 'agentyard-worker.json';

/** What the manifest must hold; a file name of this shape cannot leave the directory. */
export const workerPackageManifestSchema = z.object({
  name: z.string(),
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/),
  file: z.string().regex(/^agentyard-worker-[0-9A-Za-z.+-]+\.tgz$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().min(1),
  node: z.string(),
  prerequisites: z.string(),
});
export type WorkerPackageManifest = z.infer<typeof workerPackageManifestSchema>;

export class WorkerPackageStore {
  private cached: { mtimeMs: number; manifest: WorkerPackageManifest } | undefined;

  constructor(private readonly dir: string) {}

  /** The current manifest, or undefined when no package was built (or the manifest is unreadable). */
  manifest(): WorkerPackageManifest | undefined {
    const file = join(this.dir, workerPackageManifestName);
    try {
      const { mtimeMs } = statSync(file);
      if (this.cached?.mtimeMs !== mtimeMs) {
        this.cached = { mtimeMs, manifest: workerPackageManifestSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) };
      }
      return this.cached.manifest;
    } catch {
      return undefined;
    }
  }

  /** The tarball named `file` when it is exactly the current package's file, else undefined. */
  open(file: string): { manifest: WorkerPackageManifest; stream: ReadStream } | undefined {
    const manifest = this.manifest();
    if (!manifest || file !== manifest.file) return undefined;
    const path = join(this.dir, manifest.file);
    if (!existsSync(path)) return undefined;
    return { manifest, stream: createReadStream(path) };
  }
}
