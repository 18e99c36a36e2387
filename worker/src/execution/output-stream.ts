/*
 * Turns a tool's output into live OutputChunks: at most 16 KiB of UTF-8 each (the contract's
 * limit; never splitting a character), published when full or ~50 ms after the first unsent byte,
 * numbered by `seq` from 0 per attempt so the reader can order and spot gaps. The timer only runs
 * while output is pending: a quiet task costs nothing. It also keeps the last 64 KiB for the
 * result's `outputTail` and lifts `::progress N` hints into the chunk's `progress`. A NUL (a process
 * printing binary) becomes U+FFFD: Postgres cannot store it, and the contracts refuse it.
 */
import { outputChunkMaxBytes, type OutputChunk } from '@agentyard/contracts/agent';
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

  write(raw: string): void {
    if (!raw) return;
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
    if (this.pendingBytes >= this.maxBytes) this.flush();
    else if ((this.pending || this.pendingProgress !== undefined) && !this.timer) this.timer = setTimeout(() => this.flush(), this.flushMs);
  }

  /** Publishes whatever is pending now (called on exit, before the result is reported). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending && this.pendingProgress === undefined) return;
    const chunk: OutputChunk = { taskId: this.taskId, attempt: this.attempt, seq: this.seq++, data: this.pending };
    if (this.pendingProgress !== undefined) chunk.progress = this.pendingProgress;
    this.pending = '';
    this.pendingBytes = 0;
    this.pendingProgress = undefined;
    this.publish(chunk);
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
