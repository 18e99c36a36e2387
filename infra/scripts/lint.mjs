#!/usr/bin/env node
// ESLint over the repo. Nx's module-boundary rule needs the project graph, which `nx show
// projects` computes (no daemon, no cloud); without it the rule silently skips itself.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const env = { ...process.env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true' };
const graph = spawnSync(process.execPath, [join(root, 'node_modules/nx/dist/bin/nx.js'), 'show', 'projects'], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
if (graph.status !== 0) process.exit(graph.status ?? 1);
const lint = spawnSync(process.execPath, [join(root, 'node_modules/eslint/bin/eslint.js'), '--max-warnings=0', '.', ...process.argv.slice(2)], { cwd: root, env, stdio: 'inherit' });
if (lint.status === 0) process.stdout.write('lint: clean (module boundaries enforced)\n');
process.exit(lint.status ?? 1);
