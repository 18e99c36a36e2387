/*
 * Files a task declares as artifacts: whatever it leaves in the directory named by
 * `$AGENTYARD_ARTIFACTS` (beside its working directory, outside a workspace's repository). The
 * agent reads them after the process has ended, as itself: only regular files directly in that
 * directory (no symlinks, no subdirectories — a link would have the agent read a file the task
 * could not), with names an artifact may have, not the names the agent writes itself, within the
 * count and size limits. Everything else is skipped with a reason, which the result reports.
 */
import { chownSync, closeSync, constants, fstatSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { artifactNamePattern, reservedArtifactNames } from '@agentyard/contracts/agent';

export const artifactsEnvName = 'AGENTYARD_ARTIFACTS';
const reserved = new Set<string>(Object.values(reservedArtifactNames));
export const declaredArtifactLimits = { files: 20, bytesEach: 32 * 1024 * 1024 } as const;

export interface DeclaredArtifact {
  name: string;
  bytes: Buffer;
}

/** Makes `<root>/artifacts` (the task's, when it runs as another uid) and returns its path. */
export function prepareArtifactsDir(root: string, owner?: { uid: number; gid: number }): string {
  const dir = join(root, 'artifacts');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (owner) chownSync(dir, owner.uid, owner.gid);
  return dir;
}

/** The files to upload and what was skipped (and why). Never throws. */
export function collectDeclaredArtifacts(dir: string): { files: DeclaredArtifact[]; skipped: string[] } {
  const files: DeclaredArtifact[] = [];
  const skipped: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return { files, skipped };
  }
  for (const name of names) {
    if (!artifactNamePattern.test(name)) {
      skipped.push(`${JSON.stringify(name.slice(0, 140))}: not an artifact name (letters, digits, . _ -, up to 128)`);
      continue;
    }
    if (reserved.has(name)) {
      skipped.push(`${name}: a name the agent writes itself`);
      continue;
    }
    if (files.length >= declaredArtifactLimits.files) {
      skipped.push(`${name}: more than ${declaredArtifactLimits.files} files`);
      continue;
    }
    const read = readRegularFile(join(dir, name), declaredArtifactLimits.bytesEach);
    if (typeof read === 'string') skipped.push(`${name}: ${read}`);
    else files.push({ name, bytes: read });
  }
  return { files, skipped };
}

/** The file's bytes, or why not: O_NOFOLLOW refuses a symlink, fstat a non-regular file. */
function readRegularFile(path: string, limit: number): Buffer | string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return 'not a regular file';
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) return 'not a regular file';
    if (stat.size > limit) return `larger than ${limit} bytes`;
    const bytes = Buffer.alloc(stat.size);
    let at = 0;
    while (at < bytes.length) {
      const n = readSync(fd, bytes, at, bytes.length - at, at);
      if (n === 0) break;
      at += n;
    }
    return bytes.subarray(0, at);
  } finally {
    closeSync(fd);
  }
}
