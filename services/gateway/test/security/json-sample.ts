/*
 * A valid value for a JSON Schema (the subset zod emits): the schema's own `examples` first, then
 * `default`, `const`, the first `enum` value, and otherwise the smallest value that meets the
 * bounds — strings with a `pattern` are drawn (with a fixed seed) by fast-check's
 * `stringMatching`. A body whose sample the service still rejects (a cross-field rule JSON
 * Schema cannot say) gets an `examples` entry in its contracts schema; the route matrix checks
 * every sample against the contracts, so a new body cannot slip through unsampled.
 */
import fc from 'fast-check';
import type { JsonSchema } from './openapi-operations';

/** A valid sample of `schema`; `seed` varies drawn strings (e.g. to avoid a unique-name clash). */
export function sampleOf(schema: JsonSchema, seed = 1): unknown {
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return structuredClone(schema.examples[0]);
  if ('default' in schema) return structuredClone(schema.default);
  if ('const' in schema) return schema.const;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const alternatives = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alternatives) return sampleOf(alternatives.find((a) => a.type !== 'null') ?? alternatives[0]!, seed);
  switch (schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
      const required = (schema.required ?? []) as string[];
      return Object.fromEntries(required.map((name) => [name, sampleOf(properties[name] ?? {}, seed)]));
    }
    case 'array': {
      const count = Number(schema.minItems ?? 0);
      return Array.from({ length: count }, (_, i) => sampleOf((schema.items ?? {}) as JsonSchema, seed + i));
    }
    case 'string':
      return sampleString(schema, seed);
    case 'integer':
    case 'number':
      return clamp(1, Number(schema.minimum ?? -Infinity), Number(schema.maximum ?? Infinity));
    case 'boolean':
      return false;
    default:
      return {};
  }
}

function sampleString(schema: JsonSchema, seed: number): string {
  const min = Number(schema.minLength ?? 0);
  const max = Number(schema.maxLength ?? 10_000);
  if (schema.format === 'email') return `sample${seed}@example.com`;
  if (schema.format === 'date-time') return '2026-01-01T00:00:00.000Z';
  if (schema.format === 'uuid') return '00000000-0000-7000-8000-000000000000';
  if (typeof schema.pattern === 'string') {
    const arb = fc.stringMatching(new RegExp(schema.pattern)).filter((s) => s.length >= min && s.length <= max);
    return fc.sample(arb, { numRuns: 1, seed })[0]!;
  }
  return `sample${seed}`.padEnd(min, 'x').slice(0, Math.max(min, Math.min(max, 16)));
}

const clamp = (value: number, min: number, max: number): number => Math.min(Math.max(value, min), max);
