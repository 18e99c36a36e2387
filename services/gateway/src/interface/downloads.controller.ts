/*
 * /downloads — the worker agent package, for the machines that install it (the dashboard's
 * "Add worker" command). Public like any installer: it holds only the agent's code, and the
 * command checks the tarball against the sha256 it was given with the registration token. Only
 * the current package's exact file name is served; any other name is 404 (no path is built
 * from the request). Answers revalidate (`no-cache` + the sha256 as ETag): a rebuild of the same
 * version changes the bytes, and a cached old copy would fail the checksum.
 */
import { Controller, Get, Header, Headers, Inject, Param, Res, StreamableFile } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { DomainError } from '@agentyard/contracts';
import { WorkerPackageStore, type WorkerPackageManifest } from '../infrastructure/worker-package';

const notBuilt = () => new DomainError('NOT_FOUND', 'no worker package is built on this platform (node infra/scripts/build.mjs)');

@Controller('downloads')
export class DownloadsController {
  constructor(@Inject(WorkerPackageStore) private readonly packages: WorkerPackageStore) {}

  /** The current package: version, file name, sha256, size, what a machine needs. */
  @Get('agentyard-worker.json')
  @Header('cache-control', 'public, no-cache')
  manifest(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) reply: FastifyReply): WorkerPackageManifest | undefined {
    const manifest = this.packages.manifest();
    if (!manifest) throw notBuilt();
    return this.revalidated(manifest, ifNoneMatch, reply) ? undefined : manifest;
  }

  @Get(':file')
  @Header('cache-control', 'public, no-cache')
  tarball(
    @Param('file') file: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): StreamableFile | undefined {
    const found = this.packages.open(file);
    if (!found) {
      if (!this.packages.manifest()) throw notBuilt();
      throw new DomainError('NOT_FOUND', 'no such download: the worker package is served only under its current name (see /downloads/agentyard-worker.json)');
    }
    if (this.revalidated(found.manifest, ifNoneMatch, reply)) {
      found.stream.destroy();
      return undefined;
    }
    return new StreamableFile(found.stream, {
      type: 'application/gzip',
      disposition: `attachment; filename="${found.manifest.file}"`,
      length: found.manifest.size,
    });
  }

  /** Sets the ETag; answers 304 (and true) when the caller already has these bytes. */
  private revalidated(manifest: WorkerPackageManifest, ifNoneMatch: string | undefined, reply: FastifyReply): boolean {
    const etag = `"${manifest.sha256}"`;
    void reply.header('etag', etag);
    if (!ifNoneMatch?.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag)) return false;
    void reply.status(304);
    return true;
  }
}
