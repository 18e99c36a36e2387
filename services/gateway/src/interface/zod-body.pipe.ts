import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { DomainError, parseOrThrow } from '@agentyard/contracts';

/** Validates a body against a contracts schema; a 400 names each wrong field. */
@Injectable()
export class ZodBodyPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    if (value === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new DomainError('VALIDATION_FAILED', 'the body must be a JSON object');
    }
    return parseOrThrow<z.infer<S>>(this.schema, value);
  }
}
