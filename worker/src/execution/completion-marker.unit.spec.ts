import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompletionMarkerFilter, wrapCommand } from './completion-marker';

describe('CompletionMarkerFilter', () => {
  const marker = '\x1b]9999;agentyard-done-abc\x07';

  it('passes output through and cuts at the marker', () => {
    const filter = new CompletionMarkerFilter(marker);
    expect(filter.push('hello\r\n')).toBe('hello\r\n');
    expect(filter.push(`bye${marker}\r\n`)).toBe('bye');
    expect(filter.complete).toBe(true);
    expect(filter.push('echoed newline')).toBe('');
  });

  it('finds a marker split across pieces, holding back only the possible prefix', () => {
    const filter = new CompletionMarkerFilter(marker);
    expect(filter.push('out\x1b]99')).toBe('out');
    expect(filter.push('99;agentyard-do')).toBe('');
    expect(filter.push('ne-abc\x07')).toBe('');
    expect(filter.complete).toBe(true);
  });

  it('does not hold back ordinary escape sequences', () => {
    const filter = new CompletionMarkerFilter(marker);
    expect(filter.push('\x1b[31mred\x1b[0m')).toBe('\x1b[31mred\x1b[0m');
  });

  it('gives back a held prefix when no marker comes (the tool was killed)', () => {
    const filter = new CompletionMarkerFilter(marker);
    expect(filter.push('last\x1b]')).toBe('last');
    expect(filter.flush()).toBe('\x1b]');
    expect(filter.complete).toBe(false);
  });
});

describe('wrapCommand', () => {
  it('runs the tool under /bin/sh with a per-run marker', () => {
    const a = wrapCommand('/usr/bin/tool', ['-x', 'y z']);
    const b = wrapCommand('/usr/bin/tool', []);
    expect(a.file).toBe('/bin/sh');
    expect(a.args.slice(2)).toEqual(['agentyard-task', expect.any(String), '', '/usr/bin/tool', '-x', 'y z']);
    expect(a.marker).not.toBe(b.marker);
  });

  it('writes the tool’s exit status to the status file before the marker, and exits with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'marker-'));
    try {
      const status = join(dir, 'exit-status');
      const wrapped = wrapCommand('/bin/sh', ['-c', 'echo out; exit 7'], status);
      // The wrapper waits for one line after the marker: the newline on stdin is the agent's answer.
      const run = spawnSync(wrapped.file, wrapped.args, { input: '\n', encoding: 'utf8' });
      expect(run.status).toBe(7);
      expect(run.stdout).toBe(`out\n${wrapped.marker}`);
      expect(readFileSync(status, 'utf8')).toBe('7\n');
      // Without a status file nothing is written, and the tool still runs.
      const bare = wrapCommand('/bin/sh', ['-c', 'exit 0']);
      expect(spawnSync(bare.file, bare.args, { input: '\n' }).status).toBe(0);
      // A status file that cannot be written does not change the tool's status.
      const blocked = wrapCommand('/bin/sh', ['-c', 'exit 3'], join(dir, 'missing', 'exit-status'));
      expect(spawnSync(blocked.file, blocked.args, { input: '\n' }).status).toBe(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
