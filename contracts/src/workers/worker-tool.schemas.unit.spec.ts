import { heartbeatSchema, workerEvents, workerToolSchema } from './worker.schemas';

describe('a worker’s tool entry', () => {
  it('reads an entry from an agent older than health as healthy with unknown credentials', () => {
    expect(workerToolSchema.parse({ name: 'shell', version: null })).toEqual({ name: 'shell', version: null, health: 'healthy', auth: 'unknown' });
    // An event written before the fields still validates, with the same defaults.
    const data = workerEvents.validate('WorkerToolsChanged', 1, { workerId: 'w-1', tools: [{ name: 'claude-api', version: 'api' }] });
    expect(data.tools).toEqual([{ name: 'claude-api', version: 'api', health: 'healthy', auth: 'unknown' }]);
  });

  it('carries health, auth and a short detail', () => {
    const entry = { name: 'claude-api', version: 'api', health: 'unhealthy', auth: 'refused', detail: 'key refused by the Anthropic API (401)' };
    expect(workerToolSchema.parse(entry)).toEqual(entry);
  });

  it('refuses an unknown health or auth, a detail over 160 characters, and one Postgres cannot store', () => {
    const base = { name: 'shell', version: null };
    expect(workerToolSchema.safeParse({ ...base, health: 'sick' }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, auth: 'maybe' }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, detail: 'x'.repeat(161) }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, detail: 'a\u0000b' }).success).toBe(false);
  });

  it('lets a heartbeat of the previous agent version through', () => {
    const beat = {
      workerId: 'w-1',
      sentAt: '2026-12-05T10:00:00.000Z',
      cpuPercent: 1,
      memUsedMb: 1,
      memTotalMb: 2,
      diskFreeMb: 1,
      diskTotalMb: 2,
      slots: { total: 1, used: 0 },
      running: [],
      tools: [{ name: 'shell', version: null }],
      draining: false,
    };
    expect(heartbeatSchema.parse(beat).tools).toEqual([{ name: 'shell', version: null, health: 'healthy', auth: 'unknown' }]);
  });
});

describe('a worker’s tool models', () => {
  it('carries the ids its vendor offers, and reads an entry without them as unknown', () => {
    const entry = { name: 'ollama', version: 'api', health: 'healthy', auth: 'ok', models: ['llama3:latest', 'qwen2.5-coder:7b'] };
    expect(workerToolSchema.parse(entry).models).toEqual(['llama3:latest', 'qwen2.5-coder:7b']);
    expect(workerToolSchema.parse({ name: 'ollama', version: 'api' }).models).toBeUndefined();
    expect(workerToolSchema.parse({ name: 'claude-code', version: '1.0.0', models: null }).models).toBeNull();
  });

  it('refuses more than 200 ids, an id over 200 characters, an empty one and one with a space or control character', () => {
    const base = { name: 'openai-compatible', version: 'api' };
    expect(workerToolSchema.safeParse({ ...base, models: Array.from({ length: 201 }, (_, i) => `m${i}`) }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, models: Array.from({ length: 200 }, (_, i) => `m${i}`) }).success).toBe(true);
    expect(workerToolSchema.safeParse({ ...base, models: ['x'.repeat(201)] }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, models: [''] }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, models: ['gpt 4'] }).success).toBe(false);
    expect(workerToolSchema.safeParse({ ...base, models: ['gpt\u00004'] }).success).toBe(false);
  });
});
