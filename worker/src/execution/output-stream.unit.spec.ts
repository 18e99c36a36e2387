import { outputChunkMaxEvents, outputChunkSchema, taskResultSchema, type OutputChunk } from '@agentyard/contracts';
import { OutputStream, splitAtByte } from './output-stream';

function collect(options = {}) {
  const chunks: OutputChunk[] = [];
  const stream = new OutputStream('task-1', 2, (c) => chunks.push(c), options);
  return { chunks, stream };
}

describe('OutputStream', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe('when output trickles in', () => {
    it('publishes one chunk ~50 ms after the first pending byte, numbered from 0 with the attempt', () => {
      const { chunks, stream } = collect();
      stream.write('a');
      stream.write('b');
      jest.advanceTimersByTime(49);
      expect(chunks).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(chunks).toEqual([{ taskId: 'task-1', attempt: 2, seq: 0, data: 'ab' }]);
      stream.write('c');
      stream.flush();
      expect(chunks[1]).toMatchObject({ seq: 1, data: 'c' });
    });

    it('publishes nothing and sets no timer while quiet', () => {
      const { chunks, stream } = collect();
      stream.flush();
      jest.advanceTimersByTime(1_000);
      expect(chunks).toEqual([]);
      expect(jest.getTimerCount()).toBe(0);
    });
  });

  describe('when output is large', () => {
    it('splits it into chunks of at most 16 KiB of UTF-8 without breaking characters', () => {
      const { chunks, stream } = collect();
      const text = 'é'.repeat(20_000) + '🙂'.repeat(5_000) + 'x'.repeat(10_000);
      stream.write(text);
      stream.flush();
      for (const c of chunks) expect(Buffer.byteLength(c.data)).toBeLessThanOrEqual(16 * 1024);
      expect(chunks.map((c) => c.data).join('')).toBe(text);
      expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
      expect(chunks.every((c) => !c.data.includes('\uFFFD'))).toBe(true);
    });

    it('keeps only the last 64 Ki characters as the tail', () => {
      const { stream } = collect();
      for (let i = 0; i < 100; i++) stream.write(`${String(i).padStart(3, '0')}${'.'.repeat(2_000)}\n`);
      const tail = stream.tail();
      expect(tail.length).toBe(64 * 1024);
      expect(tail.endsWith(`099${'.'.repeat(2_000)}\n`)).toBe(true);
    });
  });

  describe('when the tool prints progress hints', () => {
    it('attaches the figure to the chunk and remembers the latest', () => {
      const { chunks, stream } = collect();
      stream.write('working\r\n::prog');
      stream.write('ress 40\r\nmore\r\n');
      stream.flush();
      expect(chunks[0]).toMatchObject({ progress: 40 });
      expect(stream.progress).toBe(40);
      stream.write('::progress 40\n');
      stream.flush();
      // Unchanged figures are not repeated.
      expect(chunks[1]!.progress).toBeUndefined();
    });
  });
});

describe('OutputStream with a process printing binary', () => {
  it('replaces NUL characters, so its chunks and its result tail are text the platform can store', () => {
    const { chunks, stream } = collect();
    stream.write('head\u0000\u0000tail');
    stream.flush();
    expect(chunks[0]!.data).toBe('head\uFFFD\uFFFDtail');
    expect(outputChunkSchema.safeParse(chunks[0]).success).toBe(true);
    expect(taskResultSchema.safeParse({ exitCode: 0, outputTail: stream.tail(), durationMs: 1 }).success).toBe(true);
  });
});

describe('splitAtByte', () => {
  it('backs up to a character boundary', () => {
    expect(splitAtByte('aé', 2)).toEqual(['a', 'é']);
    expect(splitAtByte('abc', 2)).toEqual(['ab', 'c']);
    expect(splitAtByte('ab', 5)).toEqual(['ab', '']);
  });
});

describe('OutputStream with agent events', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('batches the events with the output they came with, in order, and publishes them on the timer', () => {
    const { chunks, stream } = collect();
    stream.write('line one\n', [{ kind: 'text', text: 'one' }]);
    stream.write('line two\n', [{ kind: 'tool_call', name: 'Read', input: '{"file_path":"a"}' }]);
    jest.advanceTimersByTime(50);
    expect(chunks).toEqual([
      {
        taskId: 'task-1',
        attempt: 2,
        seq: 0,
        data: 'line one\nline two\n',
        events: [
          { kind: 'text', text: 'one' },
          { kind: 'tool_call', name: 'Read', input: '{"file_path":"a"}' },
        ],
      },
    ]);
  });

  it('puts events of output longer than a chunk into the chunk with its last byte', () => {
    const { chunks, stream } = collect();
    stream.write('x'.repeat(20_000), [{ kind: 'tool_result', isError: true }]);
    stream.flush();
    expect(chunks.map((c) => [c.data.length, c.events])).toEqual([
      [16 * 1024, undefined],
      [20_000 - 16 * 1024, [{ kind: 'tool_result', isError: true }]],
    ]);
  });

  it('publishes events that come without output (what the CLI said at its end)', () => {
    const { chunks, stream } = collect();
    stream.write('', [{ kind: 'result', summary: 'done', isError: false }]);
    stream.flush();
    expect(chunks).toEqual([{ taskId: 'task-1', attempt: 2, seq: 0, data: '', events: [{ kind: 'result', summary: 'done', isError: false }] }]);
  });

  it('publishes a chunk early rather than carry more events than the contracts allow', () => {
    const { chunks, stream } = collect();
    stream.write(
      'a',
      Array.from({ length: outputChunkMaxEvents + 1 }, (_, i) => ({ kind: 'text' as const, text: String(i) })),
    );
    stream.flush();
    expect(chunks.map((c) => c.events?.length)).toEqual([outputChunkMaxEvents, 1]);
    expect(chunks.flatMap((c) => c.events ?? []).map((e) => (e as { text: string }).text)).toEqual(
      Array.from({ length: outputChunkMaxEvents + 1 }, (_, i) => String(i)),
    );
    for (const c of chunks) expect(outputChunkSchema.safeParse(c).success).toBe(true);
  });
});
