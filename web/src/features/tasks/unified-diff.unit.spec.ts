import { describe, expect, it } from 'vitest';
import { displayPath, parseUnifiedDiff, unquote } from './unified-diff';

// As `git diff <base> <commit>` prints them (the agent's diff.patch).
const modified = [
  'diff --git a/src/app.ts b/src/app.ts',
  'index 83db48f..bf269f4 100644',
  '--- a/src/app.ts',
  '+++ b/src/app.ts',
  '@@ -1,4 +1,5 @@',
  ' import x from "x";',
  '-const a = 1;',
  '+const a = 2;',
  '+const b = 3;',
  ' ',
  ' export { a };',
  '@@ -20,2 +21,2 @@ function tail() {',
  '-  return 1;',
  '+  return 2;',
  ' }',
].join('\n');

const added = [
  'diff --git a/NEW.md b/NEW.md',
  'new file mode 100644',
  'index 0000000..e69de29',
  '--- /dev/null',
  '+++ b/NEW.md',
  '@@ -0,0 +1,2 @@',
  '+# New',
  '+text',
].join('\n');

const deleted = [
  'diff --git a/old.txt b/old.txt',
  'deleted file mode 100644',
  'index e69de29..0000000',
  '--- a/old.txt',
  '+++ /dev/null',
  '@@ -1 +0,0 @@',
  '-gone',
].join('\n');

describe('parseUnifiedDiff', () => {
  it('reads a modified file’s hunks with old and new line numbers', () => {
    const { files, totalLines } = parseUnifiedDiff(modified);
    expect(files).toHaveLength(1);
    const [f] = files;
    expect(f).toMatchObject({ oldPath: 'src/app.ts', newPath: 'src/app.ts', status: 'modified', additions: 3, deletions: 2, binary: false });
    expect(f.hunks.map((h) => h.header)).toEqual(['@@ -1,4 +1,5 @@', '@@ -20,2 +21,2 @@ function tail() {']);
    expect(f.hunks[0].lines).toEqual([
      { kind: 'context', text: 'import x from "x";', oldNo: 1, newNo: 1 },
      { kind: 'del', text: 'const a = 1;', oldNo: 2, newNo: null },
      { kind: 'add', text: 'const a = 2;', oldNo: null, newNo: 2 },
      { kind: 'add', text: 'const b = 3;', oldNo: null, newNo: 3 },
      { kind: 'context', text: '', oldNo: 3, newNo: 4 },
      { kind: 'context', text: 'export { a };', oldNo: 4, newNo: 5 },
    ]);
    expect(f.hunks[1].lines.map((l) => [l.oldNo, l.newNo])).toEqual([
      [20, null],
      [null, 21],
      [21, 22],
    ]);
    expect(totalLines).toBe(9);
  });

  it('tells added, deleted and renamed files apart', () => {
    const renamed = [
      'diff --git a/lib/a.ts b/lib/b.ts',
      'similarity index 90%',
      'rename from lib/a.ts',
      'rename to lib/b.ts',
      'index 1..2 100644',
      '--- a/lib/a.ts',
      '+++ b/lib/b.ts',
      '@@ -1 +1 @@',
      '-x',
      '+y',
    ].join('\n');
    const pureRename = ['diff --git a/c d.txt b/e f.txt', 'similarity index 100%', 'rename from c d.txt', 'rename to e f.txt'].join('\n');
    const { files } = parseUnifiedDiff([added, deleted, renamed, pureRename].join('\n') + '\n');
    expect(files.map((f) => [f.status, f.oldPath, f.newPath])).toEqual([
      ['added', null, 'NEW.md'],
      ['deleted', 'old.txt', null],
      ['renamed', 'lib/a.ts', 'lib/b.ts'],
      ['renamed', 'c d.txt', 'e f.txt'],
    ]);
    expect(files[0].hunks[0].lines.map((l) => l.newNo)).toEqual([1, 2]);
    expect(files[1].deletions).toBe(1);
    expect(files[3].hunks).toEqual([]);
    expect(files.map(displayPath)).toEqual(['NEW.md', 'old.txt', 'lib/a.ts → lib/b.ts', 'c d.txt → e f.txt']);
  });

  it('takes removed and added lines that look like headers for what the hunk counts say they are', () => {
    const tricky = [
      'diff --git a/notes.md b/notes.md',
      '--- a/notes.md',
      '+++ b/notes.md',
      '@@ -1,3 +1,3 @@',
      '--- a/not-a-header',
      '+++ b/not-a-header',
      '-diff --git a/x b/x',
      '+@@ -1 +1 @@',
      ' end',
    ].join('\n');
    const { files } = parseUnifiedDiff(tricky);
    expect(files).toHaveLength(1);
    expect(files[0].hunks[0].lines.map((l) => [l.kind, l.text])).toEqual([
      ['del', '-- a/not-a-header'],
      ['add', '++ b/not-a-header'],
      ['del', 'diff --git a/x b/x'],
      ['add', '@@ -1 +1 @@'],
      ['context', 'end'],
    ]);
  });

  it('keeps "no newline at end of file" as a note without ending the hunk', () => {
    const patch = [
      'diff --git a/f b/f',
      '--- a/f',
      '+++ b/f',
      '@@ -1 +1 @@',
      '-old',
      '\\ No newline at end of file',
      '+new',
      '\\ No newline at end of file',
    ].join('\n');
    const lines = parseUnifiedDiff(patch).files[0].hunks[0].lines;
    expect(lines.map((l) => l.kind)).toEqual(['del', 'note', 'add', 'note']);
    expect(lines[1]).toEqual({ kind: 'note', text: 'No newline at end of file', oldNo: null, newNo: null });
  });

  it('marks binary files and reads quoted paths (UTF-8 octal escapes)', () => {
    const patch = [
      'diff --git "a/caf\\303\\251.png" "b/caf\\303\\251.png"',
      'new file mode 100644',
      'index 0000000..1111111',
      'Binary files /dev/null and "b/caf\\303\\251.png" differ',
    ].join('\n');
    const [f] = parseUnifiedDiff(patch).files;
    expect(f).toMatchObject({ status: 'added', binary: true, newPath: 'café.png', oldPath: null, hunks: [] });
    expect(unquote('"tab\\there \\"q\\""')).toBe('tab\there "q"');
    expect(unquote('plain')).toBe('plain');
  });

  it('reads a plain unified diff without git’s header lines', () => {
    const patch = [
      '--- a.txt\t2026-01-01 10:00:00',
      '+++ b.txt\t2026-01-01 10:00:01',
      '@@ -1 +1 @@',
      '-a',
      '+b',
      '--- c.txt',
      '+++ c.txt',
      '@@ -1 +1 @@',
      '-c',
      '+d',
    ].join('\n');
    const { files } = parseUnifiedDiff(patch);
    expect(files.map((f) => [f.oldPath, f.newPath, f.additions, f.deletions])).toEqual([
      ['a.txt', 'b.txt', 1, 1],
      ['c.txt', 'c.txt', 1, 1],
    ]);
  });

  it('keeps only the first maxLines lines but still counts every file and line', () => {
    const big = (name: string, n: number) =>
      [`diff --git a/${name} b/${name}`, `--- a/${name}`, `+++ b/${name}`, `@@ -0,0 +1,${n} @@`, ...Array.from({ length: n }, (_, i) => `+line ${i + 1}`)].join(
        '\n',
      );
    const result = parseUnifiedDiff([big('one', 3), big('two', 4), big('three', 2)].join('\n'), 5);
    expect(result.totalLines).toBe(9);
    expect(result.keptLines).toBe(5);
    expect(result.files.map((f) => [f.newPath, f.additions, f.truncated, f.hunks.flatMap((h) => h.lines).length])).toEqual([
      ['one', 3, false, 3],
      ['two', 4, true, 2],
      ['three', 2, true, 0],
    ]);
  });

  it('gives nothing for an empty patch', () => {
    expect(parseUnifiedDiff('')).toEqual({ files: [], totalLines: 0, keptLines: 0 });
  });
});
