/*
 * Turns a tool's output into live OutputChunks: at most 16 KiB of UTF-8 each (the contract's
 * limit; never splitting a character), published when full or ~50 ms after the first unsent byte,
 * numbered by `seq` from 0 per attempt so the reader can order and spot gaps. The timer only runs
 * while output is pending: a quiet task costs nothing. It also keeps the last 64 KiB for the
 * result's `outputTail` and lifts `::progress N` hints into the chunk's `progress`. A NUL (a process
 * printing binary) becomes U+FFFD: Postgres cannot store it, and the contracts refuse it.
 *
 * An agent CLI's events (the live transcript) ride in the chunk that carries the end of the
 * output they were parsed from, in the order they were written, so a reader that orders chunks
 * by `seq` has them in order too; a chunk is published early rather than hold more than
 * `outputChunkMaxEvents`. Tested in output-stream.unit.spec.ts.
 */
import { outputChunkMaxBytes, outputChunkMaxEvents, type LiveAgentEvent, type OutputChunk } from '@agentyard/contracts/agent';
import { ProgressParser } from './progress-hint';

export interface OutputStreamOptions {
  /** Largest chunk in UTF-8 bytes. Default 16 KiB (outputChunkMaxBytes). */
  maxChunkBytes?: number;
  /** Delay between the first pending byte and its publish. Default 50 ms. */
  flushMs?: number;
  /** Characters kept for the result's tail. Default 64 Ki (taskResult.outputTail's limit). */
  tailChars?: number;
}

export class OutputStream {
  private seq = 0;
  private pending = '';
  private pendingBytes = 0;
  private pendingProgress: number | undefined;
  private pendingEvents: LiveAgentEvent[] = [];
  private lastProgress: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private tailPieces: string[] = [];
  private tailLength = 0;
  private readonly parser = new ProgressParser();
  private readonly maxBytes: number;
  private readonly flushMs: number;
  private readonly tailChars: number;

  constructor(
    private readonly taskId: string,
    private readonly attempt: number,
    private readonly publish: (chunk: OutputChunk) => void,
    options: OutputStreamOptions = {},
  ) {
    this.maxBytes = Math.max(4, options.maxChunkBytes ?? outputChunkMaxBytes);
    this.flushMs = options.flushMs ?? 50;
    this.tailChars = options.tailChars ?? 64 * 1024;
  }

  /** The latest progress figure seen, if any. */
  get progress(): number | undefined {
    return this.lastProgress;
  }

  /** Output of the task, and the agent events parsed from output that ended in it (published with its last byte). */
  write(raw: string, events: readonly LiveAgentEvent[] = []): void {
    if (!raw && events.length === 0) return;
    const data = raw.includes('\u0000') ? raw.replaceAll('\u0000', '\uFFFD') : raw;
    const progress = this.parser.push(data);
    if (progress !== undefined && progress !== this.lastProgress) {
      this.lastProgress = progress;
      this.pendingProgress = progress;
    }
    this.keepTail(data);
    let rest = data;
    while (rest) {
      const bytes = Buffer.byteLength(rest);
      const room = this.maxBytes - this.pendingBytes;
      if (bytes <= room) {
        this.pending += rest;
        this.pendingBytes += bytes;
        break;
      }
      const [head, tail] = splitAtByte(rest, room);
      this.pending += head;
      this.pendingBytes += Buffer.byteLength(head);
      this.flush();
      rest = tail;
    }
    for (const event of events) {
      if (this.pendingEvents.length >= outputChunkMaxEvents) this.flush();
      this.pendingEvents.push(event);
    }
    if (this.pendingBytes >= this.maxBytes) this.flush();
    else if (this.hasPending() && !this.timer) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  /** Publishes whatever is pending now (called on exit, before the result is reported). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.hasPending()) return;
    const chunk: OutputChunk = { taskId: this.taskId, attempt: this.attempt, seq: this.seq++, data: this.pending };
    if (this.pendingProgress !== undefined) chunk.progress = this.pendingProgress;
    if (this.pendingEvents.length > 0) chunk.events = this.pendingEvents;
    this.pending = '';
    this.pendingBytes = 0;
    this.pendingProgress = undefined;
    this.pendingEvents = [];
    this.publish(chunk);
  }

  private hasPending(): boolean {
    return this.pending !== '' || this.pendingProgress !== undefined || this.pendingEvents.length > 0;
  }

  /** The last `tailChars` characters of all output. */
  tail(): string {
    const joined = this.tailPieces.join('');
    let tail = joined.length > this.tailChars ? joined.slice(-this.tailChars) : joined;
    // Cutting by UTF-16 units may leave half a surrogate pair at the start.
    if (/^[\uDC00-\uDFFF]/.test(tail)) tail = tail.slice(1);
    return tail;
  }

  private keepTail(data: string): void {
    this.tailPieces.push(data);
    this.tailLength += data.length;
    // Compact only when well over the limit, so a chatty task does not copy 64 KiB per write.
    if (this.tailLength > 2 * this.tailChars) {
      const kept = this.tailPieces.join('').slice(-this.tailChars);
      this.tailPieces = [kept];
      this.tailLength = kept.length;
    }
  }
}

/** Splits `text` so the head has at most `maxBytes` UTF-8 bytes and ends on a character boundary. */
export function splitAtByte(text: string, maxBytes: number): [string, string] {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= maxBytes) return [text, ''];
  let cut = Math.max(0, maxBytes);
  // Back up over continuation bytes (10xxxxxx) to the start of a character.
  while (cut > 0 && ((buf[cut] ?? 0) & 0xc0) === 0x80) cut--;
  return [buf.subarray(0, cut).toString('utf8'), buf.subarray(cut).toString('utf8')];
}
