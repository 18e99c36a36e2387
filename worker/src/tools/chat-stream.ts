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

export function chatStreamParser(): StreamParser {
  let sawResult = false;
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
      return sawResult || line === '' ? [] : [{ kind: 'text', text: line }];
    },
    // Without a result line the call failed (its error went to stderr): no usage is made up.
    end: (): AgentEvent[] => [],
  };
}
