/*
 * The worker agent package this platform serves (infra/scripts/pack-worker.mjs writes
 * `agentyard-worker.json` next to the tarball in DOWNLOADS_DIR; the gateway serves both): the
 * install command needs its file name and sha256, and a worker's agent is outdated against its
 * version. Read when asked, re-parsed only when the manifest's mtime changes, so a rebuild while
 * the service runs takes effect at once.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const manifestSchema = z.object({
  version: z.string().regex(/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/),
  file: z.string().regex(/^agentyard-worker-[0-9A-Za-z.+-]+\.tgz$/),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type AgentPackage = z.infer<typeof manifestSchema>;

export class AgentPackageReader {
  private cached: { mtimeMs: number; pkg: AgentPackage } | undefined;

  constructor(private readonly dir: string) {}

  /** The served package, or undefined when none is built (or its manifest is unreadable). */
  current(): AgentPackage | undefined {
    const file = join(this.dir, 'agentyard-worker.json');
    try {
      const { mtimeMs } = statSync(file);
      if (this.cached?.mtimeMs !== mtimeMs) this.cached = { mtimeMs, pkg: manifestSchema.parse(JSON.parse(readFileSync(file, 'utf8'))) };
      return this.cached.pkg;
    } catch {
      return undefined;
    }
  }
}
