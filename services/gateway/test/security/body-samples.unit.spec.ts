/*
 * The security suite sends each route a generated sample body (json-sample.ts) and expects it to
 * be valid, so a "no access" answer means no access rather than a bad body. This checks every
 * body of the OpenAPI document against its contracts schema.
 */
import { httpSchemas } from '@agentyard/contracts';
import { buildOpenApiDocument } from '../../src/interface/openapi';
import { sampleOf } from './json-sample';
import { labelOf, operationsOf, type OpenApiDocument } from './openapi-operations';

const operations = operationsOf(buildOpenApiDocument() as unknown as OpenApiDocument).filter((op) => op.body);

describe('The generated sample body of each route', () => {
  it('exists for at least one route (the document has bodies)', () => {
    expect(operations.length).toBeGreaterThan(5);
  });

  it.each(operations.map((op) => [labelOf(op), op] as const))('is valid for %s', (_label, op) => {
    const schema = httpSchemas[op.body!.name as keyof typeof httpSchemas];
    expect(schema).toBeDefined();
    const sample = sampleOf(op.body!.schema);
    const parsed = schema.safeParse(sample);
    // A failure here: give the contracts schema an `examples` entry that passes its own rules.
    expect({ sample, issues: parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }).toEqual({ sample, issues: [] });
  });
});
