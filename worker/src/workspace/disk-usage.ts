/*
 * How much disk a worktree uses, like `du`: allocated blocks (a sparse file counts what it holds,
 * not its length), each hard-linked file once. The tree is a task's — hostile — so the walk uses
 * lstat only (a symlink counts as itself; it is never followed, also not at the top), stays
 * asynchronous (the agent keeps streaming output and heartbeating meanwhile) and stops after
 * `maxEntries`, reporting a lower bound.
 */
import { lstat, opendir } from 'node:fs/promises';
import { join } from 'node:path';

export interface DiskUsage {
  bytes: number;
  entries: number;
  /** False when the walk stopped at `maxEntries` (then `bytes` is a lower bound). */
  complete: boolean;
}

/** Default bound: a large monorepo checkout with its dependencies has a few hundred thousand entries. */
export const defaultMaxEntries = 500_000;

export async function diskUsage(path: string, maxEntries = defaultMaxEntries): Promise<DiskUsage> {
  const usage: DiskUsage = { bytes: 0, entries: 0, complete: true };
  const seen = new Set<string>();
  const pending = [path];
  while (pending.length > 0) {
    const current = pending.pop()!;
    if (usage.entries >= maxEntries) {
      usage.complete = false;
      break;
    }
    let stat;
    try {
      stat = await lstat(current);
    } catch {
      continue; // gone meanwhile, or unreadable: it uses nothing we can see
    }
    usage.entries += 1;
    if (stat.nlink > 1 && !stat.isDirectory()) {
      const inode = `${stat.dev}:${stat.ino}`;
      if (seen.has(inode)) continue;
      seen.add(inode);
    }
    usage.bytes += stat.blocks * 512;
    if (!stat.isDirectory()) continue;
    try {
      // Streamed, and no more names than the walk may still visit: a directory of millions of
      // entries costs no more memory than the bound.
      const dir = await opendir(current);
      try {
        for await (const entry of dir) {
          if (usage.entries + pending.length >= maxEntries) {
            usage.complete = false;
            break;
          }
          pending.push(join(current, entry.name));
        }
      } finally {
        await dir.close().catch(() => undefined);
      }
    } catch {
      // A directory the task made unreadable: its own size is counted, its contents cannot be.
    }
  }
  return usage;
}
