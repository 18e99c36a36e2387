/*
 * Finding CLIs on PATH and asking their version. Lookup walks PATH ourselves instead of spawning
 * `which`, so detecting an absent tool costs no process; the version probe has a timeout because
 * a CLI may hang on first-run prompts.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

/** Absolute path of `name` on `path` (default $PATH), if an executable file is there. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = isAbsolute(name)
    ? [name]
    : path
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, name));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** Runs `file args` and returns the first version-looking token of its output, or its first line. */
export function probeVersion(file: string, args: string[] = ['--version'], timeoutMs = 10_000): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 * 1024, env: process.env }, (error, stdout, stderr) => {
      const text = `${stdout}\n${stderr}`.trim();
      if (error && !text) return resolve(null);
      resolve(parseVersion(text));
    });
  });
}

/** `claude 1.0.3 (Claude Code)` → `1.0.3`; falls back to the first line, at most 100 characters. */
export function parseVersion(text: string): string | null {
  const match = /\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?)\b/.exec(text);
  if (match?.[1]) return match[1];
  const firstLine = text.split('\n')[0]?.trim();
  return firstLine ? firstLine.slice(0, 100) : null;
}
