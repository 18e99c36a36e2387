import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkDir, removeWorkDir, resolveInside, WorkDirError } from './work-dir';

describe('work directories', () => {
  let stateDir: string;
  beforeEach(() => (stateDir = mkdtempSync(join(tmpdir(), 'ayw-workdir-'))));
  afterEach(() => rmSync(stateDir, { recursive: true, force: true }));

  it('creates <state-dir>/work/<taskId>-<attempt> and the cwd inside it', () => {
    const dir = createWorkDir(stateDir, 'task-1', 2, 'a/b');
    expect(dir.root).toBe(join(stateDir, 'work', 'task-1-2'));
    expect(dir.cwd).toBe(join(dir.root, 'a', 'b'));
    expect(existsSync(dir.cwd)).toBe(true);
  });

  it('starts each attempt from an empty directory', () => {
    const first = createWorkDir(stateDir, 'task-1', 1);
    writeFileSync(join(first.root, 'left-over'), 'x');
    const again = createWorkDir(stateDir, 'task-1', 1);
    expect(existsSync(join(again.root, 'left-over'))).toBe(false);
  });

  it.each(['..', '../x', 'a/../../x', '/etc'])('refuses cwd %j that leaves the directory', (cwd) => {
    expect(() => resolveInside('/w/t-1', cwd)).toThrow(WorkDirError);
  });

  it('accepts a cwd that only looks like an escape', () => {
    expect(resolveInside('/w/t-1', 'a/../b')).toBe('/w/t-1/b');
    expect(resolveInside('/w/t-1', '..hidden')).toBe('/w/t-1/..hidden');
  });

  it('gives an isolated attempt its own HOME and /tmp beside it, and removes both', () => {
    const dir = createWorkDir(stateDir, 'task-1', 1, undefined, { sandbox: true });
    expect(dir.sandbox).toEqual({
      dir: join(stateDir, 'work', 'task-1-1.sandbox'),
      home: join(stateDir, 'work', 'task-1-1.sandbox', 'home'),
      tmp: join(stateDir, 'work', 'task-1-1.sandbox', 'tmp'),
    });
    expect(existsSync(dir.sandbox!.home) && existsSync(dir.sandbox!.tmp)).toBe(true);
    removeWorkDir(dir);
    expect(existsSync(dir.root) || existsSync(dir.sandbox!.dir)).toBe(false);
  });

  it('refuses a task id that is not a plain name', () => {
    expect(() => createWorkDir(stateDir, '../evil', 1)).toThrow(WorkDirError);
  });
});
