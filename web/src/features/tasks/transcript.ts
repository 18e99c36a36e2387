/*
 * An agent CLI's live transcript as the task page lists it: messages, tool calls with a short
 * input and their result (paired by the call's id; a result without its call stands alone), file
 * edits, the session and the final result. Pure; tested in AgentTranscript.unit.spec.ts.
 */
import type { LiveAgentEvent } from '@/stores/live.store';

export type TranscriptItem =
  | { kind: 'session'; key: string; sessionId: string; model?: string }
  | { kind: 'text'; key: string; text: string }
  | { kind: 'tool'; key: string; name: string; input: string; result: 'pending' | 'ok' | 'error' }
  | { kind: 'tool_result'; key: string; ok: boolean }
  | { kind: 'file_edit'; key: string; path: string; change: 'add' | 'update' | 'delete' }
  | { kind: 'result'; key: string; summary: string; ok: boolean };

/** How much of a tool's input a row shows. */
export const shortInputChars = 160;

/** The rows for `events`, in order. */
export function transcriptItems(events: readonly LiveAgentEvent[]): TranscriptItem[] {
  const items: TranscriptItem[] = [];
  const callsById = new Map<string, Extract<TranscriptItem, { kind: 'tool' }>>();
  events.forEach((e, i) => {
    const key = String(i);
    switch (e.kind) {
      case 'session':
        items.push({ kind: 'session', key, sessionId: e.sessionId, ...(e.model ? { model: e.model } : {}) });
        break;
      case 'text':
        if (e.text.trim()) items.push({ kind: 'text', key, text: e.text });
        break;
      case 'tool_call': {
        const item = { kind: 'tool' as const, key, name: e.name, input: shortInput(e.input), result: 'pending' as const };
        items.push(item);
        if (e.id) callsById.set(e.id, item);
        break;
      }
      case 'tool_result': {
        const call = e.id ? callsById.get(e.id) : undefined;
        if (call) call.result = e.isError ? 'error' : 'ok';
        else items.push({ kind: 'tool_result', key, ok: !e.isError });
        break;
      }
      case 'file_edit':
        items.push({ kind: 'file_edit', key, path: e.path, change: e.change });
        break;
      case 'result':
        items.push({ kind: 'result', key, summary: e.summary, ok: !e.isError });
        break;
      default: {
        const unreachable: never = e;
        return unreachable;
      }
    }
  });
  return items;
}

/**
 * A tool's input in one line: a lone string field (a command, a path, a pattern) by itself, else
 * `key: value` pairs; cut to `shortInputChars`.
 */
export function shortInput(json: string | undefined): string {
  if (!json) return '';
  let text = json;
  try {
    const value: unknown = JSON.parse(json);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      const entries = Object.entries(value as Record<string, unknown>);
      text =
        entries.length === 1 && typeof entries[0]![1] === 'string'
          ? entries[0]![1]
          : entries.map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ');
    }
  } catch {
    // Cut to 2 KiB on the worker, so often not JSON any more: show it as it is.
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > shortInputChars ? `${text.slice(0, shortInputChars - 1)}…` : text;
}
