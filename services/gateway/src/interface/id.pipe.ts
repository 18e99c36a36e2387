import { Injectable, type PipeTransform } from '@nestjs/common';
import { DomainError } from '@agentyard/contracts';

/** Ids are UUIDs; anything else cannot exist, so it is a 404 without asking a service. */
@Injectable()
export class TaskIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new DomainError('NOT_FOUND', 'no such task');
    return value.toLowerCase();
  }
}

@Injectable()
export class WorkerIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new DomainError('NOT_FOUND', 'no such worker');
    return value.toLowerCase();
  }
}

@Injectable()
export class ApiTokenIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new DomainError('NOT_FOUND', 'no such API token');
    return value.toLowerCase();
  }
}

/** A UUID path id of `what` (workflow, run, schedule, template): anything else is that thing's 404. */
export class UuidPipe implements PipeTransform<string, string> {
  constructor(private readonly what: string) {}

  transform(value: string): string {
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)) throw new DomainError('NOT_FOUND', `no such ${this.what}`);
    return value.toLowerCase();
  }
}

/** A run's node id (an identifier; a plan's steps add `_<step>`): anything else cannot exist. */
@Injectable()
export class NodeIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,199}$/.test(value)) throw new DomainError('NOT_FOUND', 'the run has no such node');
    return value;
  }
}

/** A template id: a UUID, or the id of a built-in template (`builtin-…`). */
@Injectable()
export class TemplateIdPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!/^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|builtin-[a-z0-9-]{1,60})$/i.test(value))
      throw new DomainError('NOT_FOUND', 'no such template');
    return value.toLowerCase();
  }
}
