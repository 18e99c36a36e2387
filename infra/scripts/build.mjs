#!/usr/bin/env node
// Compiles every workspace package's src/ to dist/ with swc (CommonJS, decorator metadata for
// NestJS). Type checking is separate (`npm run typecheck`): swc strips types without checking,
// which keeps `npm start` and the test run fast. Skips files whose output is newer. Then packs the
// worker agent the platform serves (pack-worker.mjs; skipped when nothing it ships changed).
import { transformFile } from '@swc/core';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packWorker } from './pack-worker.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const swcrc = JSON.parse(readFileSync(join(root, '.swcrc'), 'utf8'));
delete swcrc.$schema;

const packages = ['contracts', 'worker']
  .concat(readdirSync(join(root, 'services', 'libs')).map((d) => join('services', 'libs', d)))
  .concat(
    readdirSync(join(root, 'services'))
      .filter((d) => d !== 'libs')
      .map((d) => join('services', d)),
  )
  .filter((p) => existsSync(join(root, p, 'src')));

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else if (name.endsWith('.ts') && !name.endsWith('.spec.ts') && !name.endsWith('.d.ts')) yield full;
  }
}

let compiled = 0;
const started = Date.now();
for (const pkg of packages) {
  const src = join(root, pkg, 'src');
  const jobs = [];
  for (const file of walk(src)) {
    const out = join(root, pkg, 'dist', relative(src, file)).replace(/\.ts$/, '.js');
    if (existsSync(out) && statSync(out).mtimeMs >= statSync(file).mtimeMs) continue;
    jobs.push(
      transformFile(file, { ...swcrc, swcrc: false, sourceMaps: true, sourceFileName: relative(dirname(out), file) }).then((r) => {
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, `${r.code}\n//# sourceMappingURL=${out.split('/').pop()}.map\n`);
        if (r.map) writeFileSync(`${out}.map`, r.map);
        compiled++;
      }),
    );
  }
  await Promise.all(jobs);
}
process.stdout.write(`build: ${compiled} file(s) compiled in ${Date.now() - started} ms (${packages.length} packages)\n`);
packWorker();
