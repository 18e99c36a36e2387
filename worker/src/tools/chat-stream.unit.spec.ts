import { outcomeOf } from './agent-stream';
import { resultLine } from './api-call.script';
import { chatStreamParser } from './chat-stream';

const usage = {
  inputTokens: 12,
  outputTokens: 7,
  cachedInputTokens: 5,
  costUsd: null,
  models: { 'claude-x': { inputTokens: 12, outputTokens: 7, costUsd: null } },
};

describe('chatStreamParser', () => {
  it('turns text lines into text events and the result line into the result with its usage and the whole text', () => {
    const parser = chatStreamParser();
    const lines = ['Hello', '', 'ü second', resultLine('anthropic', 'claude-x', 'Hello\n\nü second', usage), 'after the result'];
    const all = [...lines.flatMap((l) => parser.push(l)), ...parser.end()];
    // While the text streams, its output tokens are estimated (6 characters a token, rounded down).
    expect(all.filter((e) => e.kind === 'usage').map((e) => (e.kind === 'usage' ? e.usage.outputTokens : -1))).toEqual([1, 2]);
    const events = all.filter((e) => e.kind !== 'usage');
    expect(events).toEqual([
      { kind: 'text', text: 'Hello' },
      { kind: 'text', text: 'ü second' },
      { kind: 'result', summary: 'Hello\n\nü second', isError: false, usage },
    ]);
    expect(outcomeOf(events)).toEqual({ usage, summary: 'Hello\n\nü second' });
  });

  it('reports a usage that breaks the schema as zeros rather than failing', () => {
    const line = JSON.stringify({ type: 'agentyard.result', text: 'x', usage: { inputTokens: -1, outputTokens: 'many' } });
    expect(chatStreamParser().push(line)).toEqual([
      { kind: 'result', summary: 'x', isError: false, usage: { inputTokens: 0, outputTokens: 0, costUsd: null } },
    ]);
  });

  it('makes up no result when the call failed before its result line', () => {
    const parser = chatStreamParser();
    expect(parser.push('API error: HTTP 500: boom')[0]).toEqual({ kind: 'text', text: 'API error: HTTP 500: boom' });
    expect(parser.end()).toEqual([]);
  });

  it('takes a JSON line the model wrote that is not a result line as text', () => {
    expect(chatStreamParser().push('{"type":"message","text":"agentyard.result"}')[0]).toEqual({
      kind: 'text',
      text: '{"type":"message","text":"agentyard.result"}',
    });
  });
});
