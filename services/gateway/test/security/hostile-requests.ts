/*
 * Hostile requests for one operation, generated with fast-check from the operation's OpenAPI
 * schemas: each starts from the valid sample (json-sample.ts) and breaks one thing. Two kinds:
 *  - invalid by construction (wrong type, out of range, fractional, oversize, unknown or missing
 *    field, not a JSON object, malformed JSON, a content type other than JSON, a broken path id
 *    or credential): the answer must be the refusal listed with it;
 *  - hostile but possibly valid (NUL, lone surrogates and other odd text in any string, crafted
 *    cursors and other query values): any answer below 500 will do.
 */
import fc from 'fast-check';
import { sampleOf } from './json-sample';
import { fillPath, type JsonSchema, type Operation } from './openapi-operations';

export interface HostileRequest {
  /** What was broken, for the failure report: `body.priority ← 1.5`. */
  what: string;
  /** Statuses that count as the right refusal; undefined = hostile but maybe valid (< 500 will do). */
  refusedWith?: number[];
  path: string;
  body?: string;
  contentType?: string;
  /** Replaces the caller's credentials (broken-credential cases). */
  authorization?: string;
  /** Extra request headers (the operation's own, e.g. Idempotency-Key). */
  headers?: Record<string, string>;
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Text that has broken servers: NUL, lone surrogates (both halves, reversed), BOM, RTL override, noncharacters. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '\udc00\ud800',
    '\u202e\u0000',
    '\ufeff',
    '\uffff',
    '\\u0000',
    "'; drop table users; --",
    '../../etc/passwd',
  ),
  fc
    .tuple(fc.string({ maxLength: 8 }), fc.integer({ min: 0xd800, max: 0xdfff }), fc.string({ maxLength: 8 }))
    .map(([a, c, b]) => a + String.fromCharCode(c) + b),
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => `${s}\u0000`),
);

/** Longer than any body limit the gateway allows by default (1 MiB). */
const OVERSIZE = 2 * 1024 * 1024;

/** A raw number text JSON.stringify cannot produce (it is spliced into the body as is). */
const rawNumbers = ['1e400', '-1e400', '9007199254740993', '1.0000000000000002', '0.1e-400', '123456789012345678901234567890'];

/** Every property path of a schema that a body can hold (objects are entered, arrays are not). */
function propertyPaths(schema: JsonSchema, prefix: string[] = []): Array<{ path: string[]; schema: JsonSchema; required: boolean }> {
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).flatMap(([name, s]) => {
    const here = { path: [...prefix, name], schema: s, required: required.has(name) };
    return s.type === 'object' && s.properties ? [here, ...propertyPaths(s, here.path)] : [here];
  });
}

function withValue(body: Json, path: string[], value: Json | undefined): Json {
  const copy = structuredClone(body) as Record<string, Json>;
  let node = copy;
  for (const key of path.slice(0, -1)) {
    if (!node[key] || typeof node[key] !== 'object' || Array.isArray(node[key])) node[key] = {};
    node = node[key] as Record<string, Json>;
  }
  if (value === undefined) delete node[path.at(-1)!];
  else node[path.at(-1)!] = value;
  return copy;
}

const typesOf = (schema: JsonSchema): string[] => {
  const alts = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
  if (alts) return alts.flatMap(typesOf);
  if (Array.isArray(schema.enum)) return [...new Set(schema.enum.map((v) => (v === null ? 'null' : typeof v)))];
  if (schema.type === 'integer') return ['integer', 'number'];
  return schema.type ? [String(schema.type)] : ['any'];
};

const valuesByType: Array<[string, Json]> = [
  ['number', 42],
  ['boolean', true],
  ['null', null],
  ['array', []],
  ['object', {}],
  ['string', 'text'],
];

/** Values no schema of these types accepts, with a label. */
function wrongValues(schema: JsonSchema): Array<[string, Json | { raw: string }]> {
  const types = typesOf(schema);
  if (types.includes('any')) return [];
  const out: Array<[string, Json | { raw: string }]> = valuesByType.filter(([t]) => !types.includes(t)).map(([t, v]) => [`a ${t}`, v]);
  if (schema.type === 'integer') out.push(['a fraction', 1.5]);
  if (typeof schema.maximum === 'number' && schema.maximum < Number.MAX_SAFE_INTEGER) out.push([`${schema.maximum} + 1`, schema.maximum + 1]);
  if (typeof schema.minimum === 'number' && schema.minimum > Number.MIN_SAFE_INTEGER) out.push([`${schema.minimum} − 1`, schema.minimum - 1]);
  if (types.includes('number') || types.includes('integer')) out.push([rawNumbers[0]!, { raw: rawNumbers[0]! }]);
  if (types.includes('number') && schema.type === 'integer') out.push(['a huge integer', { raw: rawNumbers[5]! }]);
  if (typeof schema.maxLength === 'number') out.push([`${schema.maxLength + 1} characters`, 'x'.repeat(schema.maxLength + 1)]);
  if (Array.isArray(schema.enum)) out.push(['a value outside the enum', `not-${String(schema.enum[0])}`]);
  if (typeof schema.maxItems === 'number')
    out.push([`${schema.maxItems + 1} items`, Array.from({ length: schema.maxItems + 1 }, () => sampleOf((schema.items ?? {}) as JsonSchema) as Json)]);
  return out;
}

/** JSON text with `{ raw }` placeholders replaced by their raw number text. */
function serialize(body: Json | { raw: string }): string {
  const raws: string[] = [];
  const text = JSON.stringify(body, (_k, v: unknown) => {
    if (v && typeof v === 'object' && 'raw' in v && Object.keys(v).length === 1) {
      raws.push(String((v as { raw: string }).raw));
      return `@@raw${raws.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@raw(\d+)@@"/g, (_, i: string) => raws[Number(i)]!);
}

/** Form encoding of a flat view of the sample (what a browser form would send). */
const formEncoded = (body: Json): string =>
  new URLSearchParams(
    Object.entries((body ?? {}) as Record<string, Json>).map(([k, v]): [string, string] => [k, typeof v === 'string' ? v : JSON.stringify(v)]),
  ).toString();

/** Path segments that name nothing valid: NUL, invalid UTF-8 (a lone surrogate's bytes), bad escapes, traversal, 5 000 characters. */
const brokenIds = [
  '%00',
  '%ED%A0%80',
  '%FF%FE',
  '%',
  '%zz',
  '..%2F..%2Fhealth%2Flive',
  'x'.repeat(5_000),
  '00000000-0000-7000-8000-000000000000%00',
  ' ',
  '%F0%9F%98%80',
];

/**
 * The hostile requests of one operation, `ids` filling its path with the caller's own objects:
 * `listed` are finite families sent whole (each field × each wrong value, each content type, each
 * broken id), `drawn` an unbounded space (odd strings, unknown keys, forged credentials, query
 * values, crafted cursors) that fast-check samples from.
 */
export function hostileRequests(op: Operation, ids: Record<string, string>): { listed: HostileRequest[]; drawn: fc.Arbitrary<HostileRequest> } {
  const path = fillPath(op, ids);
  const sample = (op.body ? sampleOf(op.body.schema) : undefined) as Json | undefined;
  const listed: HostileRequest[] = [];
  const cases: Array<fc.Arbitrary<HostileRequest>> = [];

  if (op.body) {
    const body = sample!;
    const fields = propertyPaths(op.body.schema);
    const invalid: HostileRequest[] = [];
    for (const f of fields) {
      for (const [label, value] of wrongValues(f.schema)) {
        invalid.push({ what: `body.${f.path.join('.')} ← ${label}`, refusedWith: [400, 413], path, body: serialize(withValue(body, f.path, value as Json)) });
      }
      if (f.required) invalid.push({ what: `body.${f.path.join('.')} missing`, refusedWith: [400], path, body: serialize(withValue(body, f.path, undefined)) });
    }
    for (const [label, text] of [
      ['an array', '[]'],
      ['a string', '"text"'],
      ['a number', '1'],
      ['null', 'null'],
      ['truncated JSON', serialize(body).slice(0, -1)],
      ['a NUL byte', '\u0000'],
      ['10 000 nested arrays', `${'['.repeat(10_000)}${']'.repeat(10_000)}`],
      ['a 2 MiB string', JSON.stringify({ ...(body as object), padding: 'x'.repeat(OVERSIZE) })],
      ['a __proto__ key', serialize(body).replace(/^\{/, '{"__proto__":{"isAdmin":true},')],
      ['a constructor.prototype key', serialize(body).replace(/^\{/, '{"constructor":{"prototype":{"isAdmin":true}},')],
    ] as const) {
      // Status 0: the server may answer 413 and close the connection before the client is done sending.
      invalid.push({ what: `body is ${label}`, refusedWith: text.length >= OVERSIZE ? [413, 0] : [400, 413], path, body: text });
    }
    listed.push(...invalid);
    // An unknown field is invalid only where the schema says so (additionalProperties: false).
    if (op.body.schema.additionalProperties === false)
      cases.push(
        fc
          .string({ minLength: 1, maxLength: 20 })
          .filter((k) => !fields.some((f) => f.path.length === 1 && f.path[0] === k) && k !== '__proto__')
          .map((k) => ({
            what: `body has the unknown field ${JSON.stringify(k)}`,
            refusedWith: [400],
            path,
            body: serialize({ ...(body as object), [k]: 1 }),
          })),
      );
    const strings = fields.filter((f) => typesOf(f.schema).includes('string'));
    // A NUL and a lone surrogate in every string field, whatever the draw.
    for (const f of strings) {
      for (const odd of ['a\u0000b', 'x\ud800y'])
        listed.push({ what: `body.${f.path.join('.')} ← ${JSON.stringify(odd)}`, path, body: serialize(withValue(body, f.path, odd)) });
    }
    const numbers = fields.filter((f) => typesOf(f.schema).includes('number'));
    if (numbers.length > 0) {
      const odd = fc.oneof(
        fc.constantFrom(...rawNumbers).map((raw) => ({ raw })),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 }),
      );
      cases.push(
        fc.tuple(fc.constantFrom(...numbers), odd).map(([f, n]) => ({
          what: `body.${f.path.join('.')} ← ${typeof n === 'number' ? n : n.raw}`,
          path,
          body: serialize(withValue(body, f.path, n as Json)),
        })),
      );
    }
    if (strings.length > 0) {
      cases.push(
        fc
          .tuple(fc.constantFrom(...strings), hostileString)
          .map(([f, s]) => ({ what: `body.${f.path.join('.')} ← ${JSON.stringify(s)}`, path, body: serialize(withValue(body, f.path, s)) })),
      );
    }
  }

  if (op.method !== 'GET') {
    const text = sample === undefined ? '{}' : serialize(sample);
    listed.push(
      { what: 'a form-encoded body', refusedWith: [415], path, body: formEncoded(sample ?? {}), contentType: 'application/x-www-form-urlencoded' },
      { what: 'JSON sent as text/plain', refusedWith: [415], path, body: text, contentType: 'text/plain' },
      {
        what: 'a multipart body',
        refusedWith: [415],
        path,
        body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--x--\r\n',
        contentType: 'multipart/form-data; boundary=x',
      },
      { what: 'JSON sent as application/xml', refusedWith: [415], path, body: text, contentType: 'application/xml' },
      { what: 'JSON sent as application/jsonx', refusedWith: [415], path, body: text, contentType: 'application/jsonx' },
    );
  }

  if (op.params.length > 0) {
    listed.push(
      ...brokenIds.map((id) => ({
        what: `path id ${JSON.stringify(id.slice(0, 40))}`,
        // 431: a path with four ids of 5 000 characters outgrows Node's 16 KiB request head.
        refusedWith: [400, 401, 403, 404, 414, 431],
        path: op.path.replace(/\{[^}]+\}/g, id),
        body: sample === undefined ? undefined : serialize(sample),
      })),
    );
  }

  if (op.security !== 'none') {
    const uuidish = fc.stringMatching(/^[0-9a-f-]{36}$/);
    const secret = fc.stringMatching(/^[A-Za-z0-9_-]{43}$/);
    // Credentials of the right shape whose id is no UUID, whatever the draw.
    for (const authorization of [`Bearer ayt_${'-'.repeat(36)}.${'A'.repeat(43)}`, `Worker ayw_${'0'.repeat(36)}.${'A'.repeat(43)}`]) {
      listed.push({
        what: `credential ${JSON.stringify(authorization)}`,
        refusedWith: [401],
        path,
        authorization,
        body: sample === undefined ? undefined : serialize(sample),
      });
    }
    cases.push(
      fc
        .oneof(
          fc.tuple(uuidish, secret).map(([id, s]) => `Bearer ayt_${id}.${s}`),
          fc.tuple(uuidish, secret).map(([id, s]) => `Worker ayw_${id}.${s}`),
          fc.constantFrom('Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer ', 'Worker ', 'Basic YTpi', `Bearer ${'x'.repeat(8_000)}`),
        )
        .map((authorization) => ({
          what: `credential ${JSON.stringify(authorization.slice(0, 60))}`,
          refusedWith: [401],
          path,
          authorization,
          body: sample === undefined ? undefined : serialize(sample),
        })),
    );
  }

  for (const header of op.headers) {
    const pattern = new RegExp(String(header.schema.pattern ?? '^[\\s\\S]*$'));
    const body = sample === undefined ? undefined : serialize(sample);
    // Values a client can send (fetch refuses NUL, CR and LF; it trims outer spaces) that break the pattern.
    const broken = ['has space', 'x'.repeat(300), 'tab\there', '\u00ff\u00fe', 'ab\u0080', `${'y'.repeat(9_000)}`].filter((v) => !pattern.test(v));
    for (const value of broken)
      listed.push({
        what: `header ${header.name} ← ${JSON.stringify(value.slice(0, 40))}`,
        // A raw (non-JSON) operation may refuse the sample's content type first.
        refusedWith: op.body ? [400, 431] : [400, 415, 431],
        path,
        body,
        headers: { [header.name]: value },
      });
    // Hostile but possibly valid: any printable text; below 500 will do.
    cases.push(
      fc.string({ minLength: 1, maxLength: 64, unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)) }).map((value) => ({
        what: `header ${header.name} ← ${JSON.stringify(value)}`,
        path,
        body,
        headers: { [header.name]: value },
      })),
    );
  }

  if (op.query.length > 0) {
    const names = op.query.map((q) => q.name);
    const crafted = (c: Record<string, unknown>) => Buffer.from(JSON.stringify(c)).toString('base64url');
    // Each parameter: raw NUL, a lone surrogate's bytes, a huge number, 10 000 characters, and
    // cursors of the right shape whose key or id is not what the service stored.
    const odd = [
      '%00',
      '%ED%A0%80',
      '1e400',
      'x'.repeat(10_000),
      crafted({ s: '-created', k: '2026-01-01T00:00:00.000Z', i: 'not-a-uuid' }),
      crafted({ s: '-created', k: '+275760-09-13T00:00:00.000Z', i: '00000000-0000-7000-8000-000000000000' }),
      crafted({ s: '-created', k: 'x\u0000', i: 'a\u0000b' }),
      crafted({ s: '-priority', k: 1e308, i: '00000000-0000-7000-8000-000000000000' }),
    ];
    for (const name of names) {
      for (const value of odd)
        listed.push({
          what: `query ${name}=${JSON.stringify(value.slice(0, 60))}`,
          path: `${path}?${name}=${/^%/.test(value) ? value : encodeURIComponent(value)}`,
        });
    }
    const cursor = fc
      .record({
        s: fc.constantFrom('-created', '-created', 'created', 'priority', '-priority'),
        k: fc.oneof(
          hostileString,
          fc.double(),
          fc.constantFrom(1e308, -1e308, 2 ** 63, 0.5, '2026-01-01T00:00:00Z', '+275760-09-13T00:00:00Z', '0000-00-00'),
          fc.object(),
        ),
        i: fc.oneof(hostileString, fc.uuid(), fc.constant('00000000-0000-0000-0000-000000000000')),
      })
      .map((c) => Buffer.from(JSON.stringify(c)).toString('base64url'));
    cases.push(
      fc
        .tuple(
          fc.constantFrom(...names),
          fc.oneof(hostileString, cursor, fc.constantFrom('-1', '1e400', '0.5', '999999999999999999999', 'a,b,,', '[]', '%00', '%ED%A0%80')),
        )
        .map(([name, value]) => ({
          what: `query ${name}=${JSON.stringify(value.slice(0, 60))}`,
          path: `${path}?${name}=${/^%/.test(value) ? value : encodeURIComponentLoose(value)}`,
        })),
    );
  }
  return {
    listed,
    drawn: cases.length > 0 ? fc.oneof(...cases) : fc.constant({ what: 'the sample itself', path, body: sample === undefined ? undefined : serialize(sample) }),
  };
}

/** encodeURIComponent that percent-encodes a lone surrogate as its (invalid) UTF-8 bytes instead of throwing. */
function encodeURIComponentLoose(value: string): string {
  return [...value]
    .map((ch) => {
      try {
        return encodeURIComponent(ch);
      } catch {
        const c = ch.charCodeAt(0);
        return [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      }
    })
    .join('');
}
