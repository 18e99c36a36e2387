/*
 * Tools report progress by printing a line `::progress <0-100>` (an optional `%` is accepted).
 * Output arrives in arbitrary pieces, so the parser keeps the unfinished last line between calls;
 * it keeps at most a short prefix of it, because a hint line is short and output lines may not be.
 */
const hint = /^::progress\s+(\d{1,3})%?\s*$/;
const maxLine = 64;

export class ProgressParser {
  private partial = '';
  private partialTooLong = false;

  /** Feeds output; returns the last progress figure found in complete lines, if any. */
  push(data: string): number | undefined {
    let found: number | undefined;
    let start = 0;
    for (let nl = data.indexOf('\n'); nl !== -1; nl = data.indexOf('\n', start)) {
      const line = this.take(data.slice(start, nl));
      const value = parseHint(line);
      if (value !== undefined) found = value;
      start = nl + 1;
    }
    this.append(data.slice(start));
    return found;
  }

  private take(tail: string): string | undefined {
    const tooLong = this.partialTooLong || this.partial.length + tail.length > maxLine;
    const line = tooLong ? undefined : this.partial + tail;
    this.partial = '';
    this.partialTooLong = false;
    return line;
  }

  private append(rest: string): void {
    if (this.partialTooLong) return;
    if (this.partial.length + rest.length > maxLine) {
      this.partial = '';
      this.partialTooLong = true;
    } else {
      this.partial += rest;
    }
  }
}

/** `::progress 40` → 40 (clamped to 0–100); anything else → undefined. PTY lines end in \r\n. */
export function parseHint(line: string | undefined): number | undefined {
  if (line === undefined) return undefined;
  const match = hint.exec(line.replace(/\r$/, ''));
  return match ? Math.min(100, Number(match[1])) : undefined;
}
