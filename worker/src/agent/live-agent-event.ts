/*
 * An AgentEvent as the live transcript carries it (contracts' liveAgentEventSchema): small, and
 * always valid for the schema — the gateway drops a whole output chunk that is not, raw output
 * included. So text is cut to its limit on a character boundary, a NUL or an unpaired surrogate
 * (a CLI may JSON-escape either) becomes U+FFFD, and a tool's input is sent as JSON cut to 2 KiB.
 * The final usage is left out: the task's result has it. Tested in live-agent-event.unit.spec.ts.
 */
import { liveAgentInputMax, liveAgentTextMax, type LiveAgentEvent } from '@agentyard/contracts/agent';
import type { OutputStream } from '../execution/output-stream';
import { LineSplitter, type AgentEvent, type StreamParser } from '../tools/agent-stream';

/**
 * An attempt's output on its way live: an agent CLI's structured stream (when the tool has a
 * parser) is split into lines and parsed, and each piece of output is written with the events
 * of the lines it ended. `events` keeps every event for the attempt's result.
 */
export class AgentOutput {
  readonly events: AgentEvent[] = [];
  private readonly lines = new LineSplitter();

  constructor(
    private readonly output: Pick<OutputStream, 'write'>,
    private readonly parser: StreamParser | undefined,
  ) {}

  /** One piece of (masked) output; `last` once the process is gone (what the CLI left unsaid comes out). Returns the events it parsed. */
  write(text: string, last = false): AgentEvent[] {
    const events: AgentEvent[] = [];
    if (this.parser) {
      for (const line of [...this.lines.feed(text), ...(last ? this.lines.flush() : [])]) events.push(...this.parser.push(line));
      if (last) events.push(...this.parser.end());
    }
    this.events.push(...events);
    // Running usage is the budget's business (worker-agent.ts); the result carries the final figure.
    this.output.write(
      text,
      events.flatMap((e) => (e.kind === 'usage' ? [] : [toLiveAgentEvent(e)])),
    );
    return events;
  }
}

const shortMax = 1024;
const pathMax = 4096;
const unpairedSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** The live form of one agent event. */
export function toLiveAgentEvent(event: Exclude<AgentEvent, { kind: 'usage' }>): LiveAgentEvent {
  switch (event.kind) {
    case 'session':
      return { kind: 'session', sessionId: cut(event.sessionId, shortMax), ...(event.model !== undefined ? { model: cut(event.model, shortMax) } : {}) };
    case 'text':
      return { kind: 'text', text: cut(event.text, liveAgentTextMax) };
    case 'tool_call': {
      const input = event.input === undefined ? undefined : inputJson(event.input);
      return {
        kind: 'tool_call',
        name: cut(event.name, shortMax),
        ...(event.id !== undefined ? { id: cut(event.id, shortMax) } : {}),
        ...(input !== undefined ? { input: cut(input, liveAgentInputMax) } : {}),
      };
    }
    case 'tool_result':
      return { kind: 'tool_result', isError: event.isError, ...(event.id !== undefined ? { id: cut(event.id, shortMax) } : {}) };
    case 'file_edit':
      return { kind: 'file_edit', path: cut(event.path, pathMax), change: event.change };
    case 'result':
      return { kind: 'result', summary: cut(event.summary, liveAgentTextMax), isError: event.isError };
    default: {
      const unreachable: never = event;
      return unreachable;
    }
  }
}

function inputJson(input: unknown): string | undefined {
  try {
    return JSON.stringify(input);
  } catch {
    return undefined; // not JSON-able (cannot come from a parsed line, but never fatal)
  }
}

/** `s` made storable and at most `max` UTF-16 units, ending in `…` when cut. */
export function cut(s: string, max: number): string {
  const clean = s.replaceAll('\u0000', '\uFFFD').replace(unpairedSurrogate, '\uFFFD');
  if (clean.length <= max) return clean;
  let head = clean.slice(0, max - 1);
  if (/[\uD800-\uDBFF]$/.test(head)) head = head.slice(0, -1);
  return `${head}…`;
}
