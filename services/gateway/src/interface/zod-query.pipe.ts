import { Injectable, type PipeTransform } from '@nestjs/common';
import type { z } from 'zod';
import { parseOrThrow } from '@agentyard/contracts';

/** Validates a query string against a contracts schema; a 400 names each wrong parameter. */
@Injectable()
export class ZodQueryPipe<S extends z.ZodType> implements PipeTransform<unknown, z.infer<S>> {
  constructor(private readonly schema: S) {}

  transform(value: unknown): z.infer<S> {
    const query = Object.fromEntries(Object.entries((value ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined && v !== ''));
    // Numbers in a query string arrive as text: the contracts coerce where a number is expected.
    return parseOrThrow<z.infer<S>>(this.schema, query, 'query');
  }
}
