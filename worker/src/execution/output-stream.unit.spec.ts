import { outputChunkSchema, taskResultSchema, type OutputChunk } from '@agentyard/contracts';
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
