/*
 * The stream parser of every chat tool (claude-api, gemini-api, openai-compatible, ollama). They
 * all run api-call.script.ts, which prints the answer's text as it streams and ends with one JSON
 * line `{"type":"agentyard.result","text":…,"usage":{…AgentUsage}}` (the script's header has the
 * shape and the token counting per provider). Text lines become text events; the result line
 * becomes the result, its usage checked against the contracts' schema (a usage that does not
 * pass is dropped to zeros rather than failing the task).
 */
import { agentUsageSchema } from '@agentyard/contracts/agent';
import { jsonLine, type AgentEvent, type StreamParser } from './agent-stream';
import { resultLineType } from './api-call.script';

/**
 * Characters per token assumed for the running estimate: English runs about 4 per token, so 6
 * undercounts — a token cap is passed late (at most about 1.5× the cap of output), never early.
 */
export const charsPerTokenEstimate = 6;

/**
 * The chat APIs give their counts at the end only: while the answer streams, its output tokens
 * are estimated from the text (marked `estimated`), so a runaway answer is stopped at its token cap;
 * a cost cap is checked only against the final usage. The prompt's tokens are not estimated.
 */
export function chatStreamParser(): StreamParser {
  let sawResult = false;
  let chars = 0;
  return {
    push(line) {
      const event = line.includes(resultLineType) ? jsonLine(line) : undefined;
      if (event?.type === resultLineType) {
        sawResult = true;
        const parsed = agentUsageSchema.safeParse(event.usage);
        return [
          {
            kind: 'result',
            summary: typeof event.text === 'string' ? event.text : '',
            isError: false,
            usage: parsed.success ? parsed.data : { inputTokens: 0, outputTokens: 0, costUsd: null },
          },
        ];
      }
      // Once the result is in, anything later (the PTY's completion marker) is not the model's.
      if (sawResult || line === '') return [];
      chars += line.length + 1;
      const outputTokens = Math.floor(chars / charsPerTokenEstimate);
      return [
        { kind: 'text', text: line },
        { kind: 'usage', usage: { inputTokens: 0, outputTokens, cachedInputTokens: 0, costUsd: null, estimated: true } },
      ];
    },
    // Without a result line the call failed (its error went to stderr): no usage is made up.
    end: (): AgentEvent[] => [],
  };
}
