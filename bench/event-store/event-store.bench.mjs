#!/usr/bin/env node
// Runs event-store.bench.ts against the built packages: compiles that one file with swc into
// bench/event-store/dist/ and calls its main(). `npm run bench:event-store` builds the packages
// first; when their dist/ is missing this runner builds them itself.
import { transformFile } from '@swc/core';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const built = ['contracts', 'services/libs/local-infra', 'services/libs/event-store'].every((p) => existsSync(join(root, p, 'dist', 'index.js')));
if (!built) execFileSync(process.execPath, [join(root, 'infra', 'scripts', 'build.mjs')], { stdio: 'inherit' });

const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;
const { code } = await transformFile(join(here, 'event-store.bench.ts'), { ...swcrc, swcrc: false, sourceMaps: false });
const out = join(here, 'dist', 'event-store.bench.js');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, code);

const { main } = createRequire(import.meta.url)(out);
const { rows, groupRows } = await main();
if (rows.length > 0) process.stdout.write(`\nlowest store/raw ratio: ${Math.min(...rows.map((r) => r.ratio)).toFixed(2)} (goal ≥ 0.70)\n`);
for (const r of groupRows)
  process.stdout.write(`group commit / one commit each: ${r.ratio.toFixed(2)}× appends/s, ${(r.eachCpu / r.groupedCpu).toFixed(2)}× less CPU per append\n`);
