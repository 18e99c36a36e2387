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
