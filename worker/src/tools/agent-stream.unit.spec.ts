import { jsonLine, LineSplitter, maxStreamLineBytes, outcomeOf } from './agent-stream';

describe('LineSplitter', () => {
  it("gives whole lines across chunks, without the PTY's \\r", () => {
    const s = new LineSplitter();
    expect(s.feed('{"a":1}\r\n{"b"')).toEqual(['{"a":1}']);
    expect(s.feed(':2}\r\n\r\n')).toEqual(['{"b":2}', '']);
    expect(s.feed('tail')).toEqual([]);
    expect(s.flush()).toEqual(['tail']);
    expect(s.flush()).toEqual([]);
  });

  it('drops a line longer than the limit and goes on with the next', () => {
    const s = new LineSplitter();
    expect(s.feed('x'.repeat(maxStreamLineBytes + 1))).toEqual([]);
    expect(s.feed('more of it\n{"ok":true}\n')).toEqual(['{"ok":true}']);
  });
});

describe('jsonLine', () => {
  it('reads an object and ignores anything else', () => {
    expect(jsonLine(' {"type":"result"} ')).toEqual({ type: 'result' });
    expect(jsonLine('[1]')).toBeUndefined();
    expect(jsonLine('warning: {not json')).toBeUndefined();
    expect(jsonLine('{broken')).toBeUndefined();
  });
});

describe('outcomeOf', () => {
  it('takes the last result and stamps the session on its usage', () => {
    const usage = { inputTokens: 10, outputTokens: 5, costUsd: 0.01 };
    expect(
      outcomeOf([
        { kind: 'session', sessionId: 's-1' },
        { kind: 'text', text: 'hi' },
        { kind: 'result', summary: 'first', isError: false, usage: { ...usage, inputTokens: 1 } },
        { kind: 'result', summary: 'done', isError: false, usage },
      ]),
    ).toEqual({ usage: { ...usage, sessionId: 's-1' }, summary: 'done', sessionId: 's-1' });
    expect(outcomeOf([{ kind: 'text', text: 'no result' }])).toEqual({});
  });
});
