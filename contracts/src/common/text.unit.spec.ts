import type { z } from 'zod';
import { DomainError, parseOrThrow } from './errors';
import { findUnstorableText, isStorableText, text, unstorableTextMessage } from './text';
import { createTaskBodySchema, listTasksQuerySchema } from '../tasks/task.schemas';
import { loginBodySchema, registerBodySchema } from '../auth/auth.http';
import { registerWorkerBodySchema, heartbeatSchema } from '../workers/worker-registration.schemas';
import { outputChunkSchema, workReportSchema } from '../work/work.schemas';

const NUL = '\u0000';
const LONE_HIGH = '\uD83D';
const LONE_LOW = '\uDE00';

function fieldsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return (e.details as { field: string }[]).map((d) => d.field);
    throw e;
  }
  throw new Error('expected a DomainError');
}

describe('storable text', () => {
  it.each([
    ['plain ASCII', 'hello', true],
    ['a paired surrogate (an emoji)', 'ok \uD83D\uDE00', true],
    ['a NUL', `a${NUL}b`, false],
    ['a lone high surrogate', `a${LONE_HIGH}`, false],
    ['a lone low surrogate', `${LONE_LOW}b`, false],
    ['two high surrogates in a row', `${LONE_HIGH}${LONE_HIGH}\uDE00`, false],
  ])('%s → %s', (_name, value, ok) => {
    expect(isStorableText(value)).toBe(ok);
    expect(text().safeParse(value).success).toBe(ok);
  });

  it('keeps the constraints chained after text()', () => {
    const schema = text().min(2).max(3);
    expect(schema.safeParse('a').success).toBe(false);
    expect(schema.safeParse('abcd').success).toBe(false);
    expect(schema.safeParse('ab').success).toBe(true);
  });

  it('finds a bad string anywhere in a value, keys included', () => {
    expect(findUnstorableText({ a: [1, { b: `x${NUL}` }] })).toEqual(['a', 1, 'b']);
    expect(findUnstorableText({ [`k${LONE_LOW}`]: 'v' })).toEqual([`k${LONE_LOW}`]);
    expect(findUnstorableText({ a: ['fine', 2, null, true] })).toBeUndefined();
  });
});

describe('the contracts refuse unstorable text with a 400 naming the field', () => {
  it.each([
    ['a task description', createTaskBodySchema, { description: `x${NUL}`, tool: 'shell', input: { command: 'true' } }, 'description'],
    ['a shell command', createTaskBodySchema, { description: 'x', tool: 'shell', input: { command: `echo ${LONE_HIGH}` } }, 'input.command'],
    ['an env value', createTaskBodySchema, { description: 'x', tool: 'shell', input: { command: 'true', env: { A: `${NUL}` } } }, 'input.env.A'],
    ['a login name', loginBodySchema, { username: `ada${NUL}`, password: 'whatever' }, 'username'],
    ['a registration password', registerBodySchema, { username: 'ada', email: 'a@example.com', password: `long enough ${LONE_LOW}` }, 'password'],
    ['?q=', listTasksQuerySchema, { q: `find ${NUL}` }, 'q'],
  ] as Array<[string, z.ZodType, unknown, string]>)('%s', (_name, schema, value, field) => {
    const fields = fieldsOf(() => parseOrThrow(schema, value));
    expect(fields).toEqual([field]);
    expect(() => parseOrThrow(schema, value)).toThrow(unstorableTextMessage);
  });

  it('also where the schema itself does not look (a z.unknown() value)', () => {
    // Checked by parseOrThrow before the schema: an input the tool schema never reads.
    expect(fieldsOf(() => parseOrThrow(createTaskBodySchema, { description: 'x', tool: 'noop', input: { [`k${NUL}`]: 1 } }))).toEqual([`input.k${NUL}`]);
  });

  it.each([
    ['a worker hostname', registerWorkerBodySchema, 'hostname', `host${NUL}`],
    ['a heartbeat tool version', heartbeatSchema, 'tools', [{ name: 'shell', version: `1${LONE_HIGH}` }]],
  ] as Array<[string, z.ZodType, string, unknown]>)('%s, also when parsed directly (messages a service reads with safeParse)', (_name, schema, key, bad) => {
    const result = schema.safeParse({ [key]: bad });
    expect(result.success).toBe(false);
    expect(result.error!.issues.some((i) => i.message === unstorableTextMessage)).toBe(true);
  });

  it('refuses a work report whose output tail carries NUL (a process printing binary) and an output chunk likewise', () => {
    const report = {
      kind: 'finished',
      taskId: 't',
      attempt: 1,
      workerId: 'w',
      outcome: 'succeeded',
      result: { exitCode: 0, outputTail: `bin${NUL}ary`, durationMs: 1 },
    };
    expect(workReportSchema.safeParse(report).success).toBe(false);
    expect(workReportSchema.safeParse({ ...report, result: { ...report.result, outputTail: 'binary' } }).success).toBe(true);
    expect(outputChunkSchema.safeParse({ taskId: 't', attempt: 1, seq: 0, data: `a${NUL}` }).success).toBe(false);
  });
});
