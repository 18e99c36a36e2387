/*
 * A unified diff (`git diff`, the `diff.patch` artifact a workspace task leaves) parsed into plain
 * data for the diff viewer to render as text. The patch comes from the task, so it is untrusted:
 * nothing here produces HTML, and the viewer interpolates every string. Within a hunk its header's
 * line counts decide what a line is, so a removed line that reads `--- x` is never taken for the
 * next file's header. `maxLines` caps the hunk lines kept (a big patch would freeze the page); the
 * result says how many there were. Tested in unified-diff.unit.spec.ts.
 */

export type DiffLineKind = 'add' | 'del' | 'context' | 'note';

export interface DiffLine {
  kind: DiffLineKind;
  /** The line without its leading `+`, `-` or space (a note: `\ No newline at end of file`). */
  text: string;
  /** Line number in the old file; null for an added line or a note. */
  oldNo: number | null;
  /** Line number in the new file; null for a removed line or a note. */
  newNo: number | null;
}

export interface DiffHunk {
  /** The `@@ -a,b +c,d @@ section` line. */
  header: string;
  lines: DiffLine[];
}

export type DiffFileStatus = 'added' | 'deleted' | 'renamed' | 'copied' | 'modified';

export interface DiffFile {
  /** Path before the change (null for an added file). */
  oldPath: string | null;
  /** Path after the change (null for a deleted file). */
  newPath: string | null;
  status: DiffFileStatus;
  binary: boolean;
  additions: number;
  deletions: number;
  hunks: DiffHunk[];
  /** Some of this file's lines were left out by the cap. */
  truncated: boolean;
}

export interface ParsedDiff {
  files: DiffFile[];
  /** Hunk lines in the whole patch, and how many of them `files` holds. */
  totalLines: number;
  keptLines: number;
}

const hunkHeader = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Parses a unified diff; keeps at most `maxLines` hunk lines (counting still covers the rest). */
export function parseUnifiedDiff(patch: string, maxLines = Number.POSITIVE_INFINITY): ParsedDiff {
  const files: DiffFile[] = [];
  let totalLines = 0;
  let keptLines = 0;
  let file: DiffFile | null = null;
  let hunk: DiffHunk | null = null;
  /** Lines the current hunk's header still promises, old and new side. */
  let oldLeft = 0;
  let newLeft = 0;
  let oldNo = 0;
  let newNo = 0;

  const lines = patch.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];

    if (file && hunk && (oldLeft > 0 || newLeft > 0)) {
      const sign = line[0];
      if (sign === '\\') {
        keep(file, hunk, { kind: 'note', text: line.slice(1).trim(), oldNo: null, newNo: null });
        continue;
      }
      // An empty line inside a hunk is a context line whose leading space was lost (some editors strip it).
      const kind: DiffLineKind | null = sign === '+' ? 'add' : sign === '-' ? 'del' : sign === ' ' || line === '' ? 'context' : null;
      if (kind) {
        const entry: DiffLine = { kind, text: line.slice(1), oldNo: kind === 'add' ? null : oldNo, newNo: kind === 'del' ? null : newNo };
        if (kind !== 'add') {
          oldNo++;
          oldLeft--;
        }
        if (kind !== 'del') {
          newNo++;
          newLeft--;
        }
        if (kind === 'add') file.additions++;
        if (kind === 'del') file.deletions++;
        keep(file, hunk, entry);
        continue;
      }
      // Anything else ends a hunk whose counts were wrong; read it as a header below.
      oldLeft = newLeft = 0;
    }

    if (line.startsWith('\\')) {
      if (file && hunk) keep(file, hunk, { kind: 'note', text: line.slice(1).trim(), oldNo: null, newNo: null });
      continue;
    }

    if (line.startsWith('diff --git ')) {
      const [a, b] = gitHeaderPaths(line.slice('diff --git '.length));
      file = newFile(a, b);
      files.push(file);
      hunk = null;
      continue;
    }

    const m = hunkHeader.exec(line);
    if (m && file) {
      oldNo = Number(m[1]);
      newNo = Number(m[3]);
      oldLeft = m[2] === undefined ? 1 : Number(m[2]);
      newLeft = m[4] === undefined ? 1 : Number(m[4]);
      hunk = { header: line, lines: [] };
      file.hunks.push(hunk);
      continue;
    }

    // `--- a` then `+++ b`: the paths of the file `diff --git` opened, or a new file in a plain unified diff.
    if (line.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) {
      const oldPath = headerPath(line.slice(4), 'a/');
      const newPath = headerPath(lines[i + 1].slice(4), 'b/');
      if (!file || file.hunks.length > 0 || file.binary) {
        file = newFile(oldPath, newPath);
        files.push(file);
        hunk = null;
      }
      file.oldPath = oldPath;
      file.newPath = newPath;
      if (oldPath === null) file.status = 'added';
      else if (newPath === null) file.status = 'deleted';
      i++;
      continue;
    }

    if (file) readExtendedHeader(file, line);
  }

  for (const f of files) f.hunks = f.hunks.filter((h) => h.lines.length > 0);
  return { files, totalLines, keptLines };

  function keep(f: DiffFile, h: DiffHunk, entry: DiffLine): void {
    totalLines++;
    if (keptLines >= maxLines) {
      f.truncated = true;
      return;
    }
    keptLines++;
    h.lines.push(entry);
  }
}

function newFile(oldPath: string | null, newPath: string | null): DiffFile {
  return { oldPath, newPath, status: 'modified', binary: false, additions: 0, deletions: 0, hunks: [], truncated: false };
}

/** Git's lines between `diff --git` and the hunks: new, deleted, renamed, copied, binary. */
function readExtendedHeader(f: DiffFile, line: string): void {
  const value = (prefix: string) => unquote(line.slice(prefix.length));
  if (line.startsWith('new file mode')) {
    f.status = 'added';
    f.oldPath = null;
  } else if (line.startsWith('deleted file mode')) {
    f.status = 'deleted';
    f.newPath = null;
  } else if (line.startsWith('rename from ')) {
    f.status = 'renamed';
    f.oldPath = value('rename from ');
  } else if (line.startsWith('rename to ')) {
    f.status = 'renamed';
    f.newPath = value('rename to ');
  } else if (line.startsWith('copy from ')) {
    f.status = 'copied';
    f.oldPath = value('copy from ');
  } else if (line.startsWith('copy to ')) {
    f.status = 'copied';
    f.newPath = value('copy to ');
  } else if (line.startsWith('Binary files ') || line === 'GIT binary patch') {
    f.binary = true;
  }
}

/** The two paths of `diff --git a/x b/y` (each possibly quoted); best effort when unquoted paths hold spaces. */
function gitHeaderPaths(rest: string): [string | null, string | null] {
  if (rest.startsWith('"')) {
    const end = closingQuote(rest);
    const a = rest.slice(0, end + 1);
    return [headerPath(a, 'a/'), headerPath(rest.slice(end + 2), 'b/')];
  }
  if (rest.endsWith('"')) {
    const start = rest.lastIndexOf(' "');
    return [headerPath(rest.slice(0, start), 'a/'), headerPath(rest.slice(start + 1), 'b/')];
  }
  // `a/p b/p`: the same path twice when it is not a rename (the rename lines fix the rest).
  const half = (rest.length - 1) / 2;
  if (Number.isInteger(half) && rest[half] === ' ' && rest.slice(2, half) === rest.slice(half + 3)) {
    return [headerPath(rest.slice(0, half), 'a/'), headerPath(rest.slice(half + 1), 'b/')];
  }
  const split = rest.indexOf(' b/');
  return split < 0 ? [rest, rest] : [headerPath(rest.slice(0, split), 'a/'), headerPath(rest.slice(split + 1), 'b/')];
}

/** A `---`/`+++` path: unquoted, without its `a/`/`b/` prefix and any tab-separated timestamp; null for /dev/null. */
function headerPath(raw: string, prefix: 'a/' | 'b/'): string | null {
  const path = raw.startsWith('"') ? unquote(raw) : raw.split('\t')[0];
  if (path === '/dev/null') return null;
  return path.startsWith(prefix) ? path.slice(prefix.length) : path;
}

function closingQuote(s: string): number {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '"') return i;
  }
  return s.length - 1;
}

const escapes: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/** Git's C-style quoting (`"a/\303\251t\303\251.txt"`): octal escapes are UTF-8 bytes. */
export function unquote(raw: string): string {
  if (!raw.startsWith('"')) return raw;
  const body = raw.slice(1, closingQuote(raw));
  const encoder = new TextEncoder();
  const bytes: number[] = [];
  let plain = '';
  const flush = () => {
    bytes.push(...encoder.encode(plain));
    plain = '';
  };
  for (let i = 0; i < body.length; i++) {
    if (body[i] !== '\\') {
      plain += body[i];
      continue;
    }
    flush();
    const octal = /^[0-7]{3}/.exec(body.slice(i + 1));
    if (octal) {
      bytes.push(parseInt(octal[0], 8));
      i += 3;
    } else {
      const next = body[i + 1] ?? '';
      if (next in escapes) bytes.push(escapes[next]);
      else bytes.push(...encoder.encode(next));
      i += 1;
    }
  }
  flush();
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The path a file is shown under: `old → new` for a rename or copy. */
export function displayPath(file: DiffFile): string {
  if ((file.status === 'renamed' || file.status === 'copied') && file.oldPath !== file.newPath) return `${file.oldPath} → ${file.newPath}`;
  return file.newPath ?? file.oldPath ?? '(unknown file)';
}
