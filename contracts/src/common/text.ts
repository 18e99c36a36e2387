/*
 * Text the platform can store. Postgres refuses a NUL character in `text` and `jsonb`, and an
 * unpaired UTF-16 surrogate in `jsonb` (a lone surrogate is not a Unicode character, so it has no
 * UTF-8 form): a string carrying either one passed validation and then failed deep in a service,
 * a 500 for the caller or a poisoned message for a consumer. So every string schema of the
 * contracts is `text()` (ESLint refuses a bare `z.string()` in contracts/src), and `parseOrThrow`
 * also walks the raw value — object keys and strings under `z.unknown()` included — before the
 * schema sees it. Tested in text.unit.spec.ts and the gateway's edge-security e2e suite.
 */
import { z } from 'zod';

/** What a person reads when a field holds such a character. */
export const unstorableTextMessage = 'must not contain NUL characters (\\u0000) or unpaired UTF-16 surrogates';

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` has no NUL and no unpaired surrogate, so Postgres can store it. */
export function isStorableText(s: string): boolean {
  return !s.includes('\u0000') && !unpairedSurrogate.test(s);
}

/** A string schema that refuses NUL and unpaired surrogates; use it for every string field. */
export function text(): z.ZodString {
  // eslint-disable-next-line no-restricted-syntax -- the one place a bare string schema is built
  return z.string().refine(isStorableText, { message: unstorableTextMessage });
}

/**
 * The path of the first string in `value` (an object key or a string value, at any depth) that
 * is not storable text; undefined when every string is.
 */
export function findUnstorableText(value: unknown, path: (string | number)[] = [], depth = 0): (string | number)[] | undefined {
  if (typeof value === 'string') return isStorableText(value) ? undefined : path;
  if (value === null || typeof value !== 'object' || depth > 64) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnstorableText(value[i], [...path, i], depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, v] of Object.entries(value)) {
    if (!isStorableText(key)) return [...path, key];
    const found = findUnstorableText(v, [...path, key], depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * An ISO 8601 date-time with an offset that Postgres' `timestamptz` accepts: year 1 to 9999 in
 * UTC (`0000-…` is valid ISO but no year Postgres knows, a 500 before).
 */
export function timestamp(): z.ZodISODateTime {
  return z.iso.datetime({ offset: true }).refine(isStorableTimestamp, { message: 'must be a date-time between the years 1 and 9999' });
}

/** True when `value` is a date-time whose UTC year lies in 1…9999. */
export function isStorableTimestamp(value: string): boolean {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return false;
  const year = new Date(ms).getUTCFullYear();
  return year >= 1 && year <= 9999;
}
