/*
 * The tasks service's request/reply handlers against contracts' rpcCatalog, read from the
 * handlers' own Nest metadata (what the transporter subscribes), not from source text.
 */
import 'reflect-metadata';
import { PATTERN_HANDLER_METADATA, PATTERN_METADATA } from '@nestjs/microservices/constants';
import { PatternHandler } from '@nestjs/microservices/enums/pattern-handler.enum';
import { artifactSubjects, rpcCatalog } from '@agentyard/contracts';
import { ArtifactController } from './artifact.controller';
import { TaskCommandsController } from './task.commands.controller';
import { TaskQueriesController } from './task.queries.controller';

/** Every controller of the service with @MessagePattern handlers. */
const controllers = [TaskCommandsController, TaskQueriesController, ArtifactController];

/** Subjects the catalog does not cover yet (the artifact transfer); listed so a new handler cannot slip past. */
const notInCatalogYet = new Set<string>(Object.values(artifactSubjects));

function messageSubjects(): string[] {
  const subjects: string[] = [];
  for (const controller of controllers) {
    const proto = controller.prototype as unknown as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method = proto[name];
      if (typeof method !== 'function' || name === 'constructor') continue;
      if (Reflect.getMetadata(PATTERN_HANDLER_METADATA, method) !== PatternHandler.MESSAGE) continue;
      subjects.push(...(Reflect.getMetadata(PATTERN_METADATA, method) as string[]));
    }
  }
  return subjects;
}

describe('The tasks service’s request/reply handlers', () => {
  const handled = messageSubjects();
  const catalogued = Object.values(rpcCatalog.tasks).map((entry) => entry.subject);

  it('read their metadata (the check below is not vacuous)', () => {
    expect(handled.length).toBeGreaterThanOrEqual(catalogued.length);
  });

  it('answer every subject of the tasks catalog, once', () => {
    for (const subject of catalogued) expect(handled.filter((s) => s === subject)).toEqual([subject]);
  });

  it('listen only on subjects the catalog holds (or the listed ones it does not cover yet)', () => {
    const outside = handled.filter((s) => !catalogued.includes(s) && !notInCatalogYet.has(s));
    expect(outside).toEqual([]);
  });
});
