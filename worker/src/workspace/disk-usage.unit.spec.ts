import { linkSync, mkdirSync, mkdtempSync, openSync, closeSync, ftruncateSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diskUsage } from './disk-usage';

describe('diskUsage', () => {
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'ayw-du-'));
    outside = mkdtempSync(join(tmpdir(), 'ayw-du-outside-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('counts allocated blocks of files and directories', async () => {
    writeFileSync(join(dir, 'a.bin'), Buffer.alloc(64 * 1024, 1));
    const usage = await diskUsage(dir);
    expect(usage.complete).toBe(true);
    expect(usage.entries).toBe(2);
    expect(usage.bytes).toBeGreaterThanOrEqual(64 * 1024);
  });

  it('never follows a link, also when the top itself is one', async () => {
    writeFileSync(join(outside, 'huge.bin'), Buffer.alloc(1024 * 1024, 1));
    const before = await diskUsage(dir);
    symlinkSync(outside, join(dir, 'escape'));
    const withLink = await diskUsage(dir);
    expect(withLink.bytes - before.bytes).toBeLessThan(64 * 1024);
    const link = join(dir, 'escape');
    expect((await diskUsage(link)).entries).toBe(1);
  });

  it('counts a hard-linked file once and a sparse file by what it holds', async () => {
    writeFileSync(join(dir, 'one.bin'), Buffer.alloc(256 * 1024, 1));
    const single = await diskUsage(dir);
    linkSync(join(dir, 'one.bin'), join(dir, 'two.bin'));
    const fd = openSync(join(dir, 'sparse.bin'), 'w');
    ftruncateSync(fd, 1024 ** 3);
    closeSync(fd);
    const usage = await diskUsage(dir);
    expect(usage.bytes - single.bytes).toBeLessThan(64 * 1024);
  });

  it('stops at the entry bound and says the size is a lower bound', async () => {
    mkdirSync(join(dir, 'many'));
    for (let i = 0; i < 50; i += 1) writeFileSync(join(dir, 'many', `f${i}`), 'x');
    const usage = await diskUsage(dir, 10);
    expect(usage.complete).toBe(false);
    expect(usage.entries).toBeLessThanOrEqual(10);
    expect((await diskUsage(dir)).complete).toBe(true);
  });
});
