import { liveAgentInputMax, liveAgentTextMax, outputChunkSchema, type OutputChunk } from '@agentyard/contracts/agent';
import { OutputStream } from '../execution/output-stream';
import { claudeCodeStreamParser } from '../tools/claude-code.tool';
import { AgentOutput, cut, toLiveAgentEvent } from './live-agent-event';

const session = '30410da0-ce53-4950-a8e3-0d7a1f62ecf8';
/** A claude-code run as its stream-json lines: init, a message, a Write, its result, the final answer. */
const claudeLines = [
  `{"type":"system","subtype":"init","session_id":"${session}","model":"claude-opus-4-8","tools":["Write"]}`,
  `{"type":"assistant","message":{"id":"m1","role":"assistant","model":"claude-opus-4-8","content":[{"type":"text","text":"I will write the file."}]},"session_id":"${session}"}`,
  `{"type":"assistant","message":{"id":"m2","role":"assistant","model":"claude-opus-4-8","content":[{"type":"tool_use","id":"toolu_1","name":"Write","input":{"file_path":"/w/hello.txt","content":"${'x'.repeat(5000)}"}}]},"session_id":"${session}"}`,
  `{"type":"user","message":{"role":"user","content":[{"tool_use_id":"toolu_1","type":"tool_result","content":"File created"}]},"session_id":"${session}"}`,
  `{"type":"result","subtype":"success","is_error":false,"result":"Done: hello.txt written.","session_id":"${session}","total_cost_usd":0.01,"usage":{"input_tokens":10,"output_tokens":5},"modelUsage":{"claude-opus-4-8":{"inputTokens":10,"outputTokens":5,"cacheReadInputTokens":0,"cacheCreationInputTokens":0,"costUSD":0.01}}}`,
];

function collect() {
  const chunks: OutputChunk[] = [];
  const stream = new OutputStream('task-1', 1, (c) => chunks.push(c));
  return { chunks, stream };
}

describe('toLiveAgentEvent', () => {
  it('sends a tool call with its input as JSON cut to 2 KiB', () => {
    const live = toLiveAgentEvent({ kind: 'tool_call', name: 'Write', id: 't1', input: { file_path: 'a.txt', content: 'y'.repeat(10_000) } });
    expect(live).toMatchObject({ kind: 'tool_call', name: 'Write', id: 't1' });
    const input = (live as { input: string }).input;
    expect(input.length).toBe(liveAgentInputMax);
    expect(input.startsWith('{"file_path":"a.txt","content":"yyy')).toBe(true);
    expect(input.endsWith('…')).toBe(true);
  });

  it('cuts text and summaries to 4 KiB and leaves the usage to the result', () => {
    expect(toLiveAgentEvent({ kind: 'text', text: 'a'.repeat(10_000) })).toEqual({ kind: 'text', text: `${'a'.repeat(liveAgentTextMax - 1)}…` });
    const usage = { model: 'm', inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0, costUsd: null } as never;
    expect(toLiveAgentEvent({ kind: 'result', summary: 'short', isError: false, usage })).toEqual({ kind: 'result', summary: 'short', isError: false });
  });

  it('keeps text the contracts accept: no NUL, no half of a surrogate pair after a cut', () => {
    expect(cut('a\u0000b\uD800c', 100)).toBe('a\uFFFDb\uFFFDc');
    const cutInPair = cut(`${'a'.repeat(8)}🙂🙂`, 10);
    expect(cutInPair).toBe(`${'a'.repeat(8)}…`);
    for (const event of [
      toLiveAgentEvent({ kind: 'text', text: `${'a'.repeat(liveAgentTextMax - 2)}🙂🙂\u0000` }),
      toLiveAgentEvent({ kind: 'file_edit', path: 'src/\u0000.ts', change: 'update' }),
      toLiveAgentEvent({ kind: 'tool_result', id: 'x', isError: true }),
      toLiveAgentEvent({ kind: 'session', sessionId: 's', model: 'm' }),
    ]) {
      expect(outputChunkSchema.safeParse({ taskId: 't', attempt: 1, seq: 0, data: '', events: [event] }).error).toBeUndefined();
    }
  });
});

describe('AgentOutput', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  describe("when an agent CLI's stream arrives in pieces that split its lines", () => {
    it('publishes each event with the chunk that carried the end of its line, in order, and valid for the contracts', () => {
      const { chunks, stream } = collect();
      const out = new AgentOutput(stream, claudeCodeStreamParser());
      const all = claudeLines.map((l) => `${l}\r\n`).join('');
      // Pieces of 3000 characters, each flushed: a line's events wait for the piece that ends it.
      for (let i = 0; i < all.length; i += 3000) {
        out.write(all.slice(i, i + 3000));
        stream.flush();
      }
      out.write('', true);
      stream.flush();

      expect(chunks.map((c) => c.data).join('')).toBe(all);
      for (const c of chunks) expect(outputChunkSchema.safeParse(c).error).toBeUndefined();
      const events = chunks.flatMap((c) => c.events ?? []);
      expect(events.map((e) => e.kind)).toEqual(['session', 'text', 'tool_call', 'tool_result', 'file_edit', 'result']);
      expect(events[1]).toEqual({ kind: 'text', text: 'I will write the file.' });
      expect(events[2]).toMatchObject({ kind: 'tool_call', name: 'Write', id: 'toolu_1' });
      expect((events[2] as { input: string }).input.length).toBeLessThanOrEqual(liveAgentInputMax);
      expect(events[3]).toEqual({ kind: 'tool_result', id: 'toolu_1', isError: false });
      expect(events[4]).toEqual({ kind: 'file_edit', path: '/w/hello.txt', change: 'update' });
      expect(events[5]).toEqual({ kind: 'result', summary: 'Done: hello.txt written.', isError: false });
      // The tool_call's line (over 5000 characters) ends in a later chunk than the one it starts in.
      const endOfWrite = all.indexOf('\n', all.indexOf('"tool_use"'));
      const carrier = chunks.find((c) => c.events?.some((e) => e.kind === 'tool_call'))!;
      const before = chunks.slice(0, chunks.indexOf(carrier)).reduce((n, c) => n + c.data.length, 0);
      expect(before).toBeLessThanOrEqual(endOfWrite);
      expect(before + carrier.data.length).toBeGreaterThan(endOfWrite);
      // The attempt keeps the full events for its result.
      expect(out.events.at(-1)).toMatchObject({ kind: 'result', usage: expect.objectContaining({ inputTokens: 10 }) });
    });
  });

  describe('when the tool has no structured stream', () => {
    it('publishes plain output chunks without events', () => {
      const { chunks, stream } = collect();
      const out = new AgentOutput(stream, undefined);
      out.write('{"type":"assistant"}\n');
      out.write('', true);
      stream.flush();
      expect(chunks).toEqual([{ taskId: 'task-1', attempt: 1, seq: 0, data: '{"type":"assistant"}\n' }]);
      expect(out.events).toEqual([]);
    });
  });
});
