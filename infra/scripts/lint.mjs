#!/usr/bin/env node
// ESLint over the repo, then Prettier's check (formatting is not ESLint's job here; a file that
// `npm run format` would change fails the gate). Nx's module-boundary rule needs the project
// graph, which `nx show projects` computes (no daemon, no cloud); without it the rule silently
// skips itself.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const graph = spawnSync(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], {
  cwd: root,
  env,
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (graph.status !== 0) process.exit(graph.status ?? 1);
const lint = spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings=0', '.', ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (lint.status !== 0) process.exit(lint.status ?? 1);
const format = spawnSync(process.execPath, [join(root, 'node_modules/prettier/bin/prettier.cjs'), '--check', '--log-level=warn', '.'], {
  cwd: root,
  env,
  stdio: 'inherit',
});
if (format.status !== 0) {
  process.stderr.write('format: files above differ from Prettier; run `npm run format`\n');
  process.exit(format.status ?? 1);
}
process.stdout.write('lint: clean (module boundaries enforced, Prettier-formatted)\n');
