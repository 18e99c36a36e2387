/*
 * Masks a task's secret values in its output before anything is streamed or reported, as CI
 * systems do: every occurrence becomes `***`. Defence in depth — the value reached the process on
 * purpose, and a tool that prints it (or `set -x`) must not put it in the live stream, the
 * result's tail and so the task's events.
 *
 * Invariant: no secret occurrence that lies within the output passes unmasked, even when it is
 * split across PTY reads. The masker holds back the shortest tail that could still grow into a
 * secret, and only that; the next read, or `flush()` at exit, releases it. Tested in
 * secret-masker.unit.spec.ts. Values shorter than `minMaskedLength` are not masked (masking `a`
 * would garble all output and protects nothing). A multi-line value is also masked as the PTY
 * prints it (lines ending in CRLF) and line by line.
 */

export const secretMask = '***';
/** Shorter values are not masked. */
export const minMaskedLength = 4;

export class SecretMasker {
  private readonly needles: string[];
  private readonly pattern: RegExp | undefined;
  private held = '';

  constructor(values: Iterable<string>) {
    const needles = new Set<string>();
    for (const value of values) {
      for (const variant of variantsOf(value)) if (variant.length >= minMaskedLength) needles.add(variant);
    }
    // Longest first: where two values overlap at one position, the longer one is masked whole.
    this.needles = [...needles].sort((a, b) => b.length - a.length);
    this.pattern = this.needles.length > 0 ? new RegExp(this.needles.map(escapeRegExp).join('|'), 'g') : undefined;
  }

  /** True when there is nothing to mask: output passes through untouched. */
  get idle(): boolean {
    return this.pattern === undefined;
  }

  /** Masks `data`; returns what is safe to pass on now (possibly less than given, never a secret). */
  push(data: string): string {
    if (!this.pattern) return data;
    const text = this.held + data;
    // From here on the text may still become a secret with what comes next: not released yet.
    const growable = this.growableSuffixStart(text);
    let out = '';
    let from = 0;
    this.pattern.lastIndex = 0;
    for (let m = this.pattern.exec(text); m && m.index < growable; m = this.pattern.exec(text)) {
      out += text.slice(from, m.index) + secretMask;
      from = m.index + m[0].length;
    }
    const keep = Math.max(growable, from);
    this.held = text.slice(keep);
    return out + text.slice(from, keep);
  }

  /** The held-back tail, masked: call once the output has ended. */
  flush(): string {
    const rest = this.held;
    this.held = '';
    return this.pattern ? rest.replace(this.pattern, secretMask) : rest;
  }

  /** The first index where the rest of `text` is a proper prefix of some secret; text.length when none. */
  private growableSuffixStart(text: string): number {
    const longest = this.needles[0]?.length ?? 0;
    for (let i = Math.max(0, text.length - longest + 1); i < text.length; i++) {
      const tail = text.length - i;
      if (this.needles.some((n) => n.length > tail && startsAt(text, i, n))) return i;
    }
    return text.length;
  }
}

/** True when `text` from `at` to its end equals the start of `needle` (compared in place, no copies). */
function startsAt(text: string, at: number, needle: string): boolean {
  for (let k = 0; at + k < text.length; k++) if (text.charCodeAt(at + k) !== needle.charCodeAt(k)) return false;
  return true;
}

/** The forms a value takes in PTY output: as is, with CRLF line ends, and each of its lines. */
function variantsOf(value: string): string[] {
  if (!value.includes('\n')) return [value];
  const lines = value.split(/\r?\n/).map((l) => l.replace(/\r$/, ''));
  return [value, value.replace(/\r?\n/g, '\r\n'), ...lines];
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
