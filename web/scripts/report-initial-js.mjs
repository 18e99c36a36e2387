#!/usr/bin/env node
// Prints the gzipped JavaScript a browser loads to show the login page — the entry chunk, the
// login route's lazy chunk and everything they import statically — and fails the build above
// the budget. Reads Vite's manifest, so it follows the real chunk graph.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const budgetKb = 250;
const dist = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist');
const manifest = JSON.parse(readFileSync(join(dist, '.vite', 'manifest.json'), 'utf8'));

function closure(keys) {
  const seen = new Set();
  const visit = (key) => {
    if (seen.has(key)) return;
    const chunk = manifest[key];
    if (!chunk) throw new Error(`report-initial-js: ${key} is not in the manifest`);
    seen.add(key);
    for (const dep of chunk.imports ?? []) visit(dep);
  };
  keys.forEach(visit);
  return [...seen].map((k) => manifest[k]);
}

const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const routeChunk = (name) => Object.keys(manifest).find((k) => k.endsWith(name));

const entry = Object.keys(manifest).find((k) => manifest[k].isEntry);
const login = routeChunk('features/auth/LoginView.vue');
const chunks = closure([entry, login]);
const js = chunks.map((c) => ({ file: c.file, gz: gz(c.file) }));
const css = [...new Set(chunks.flatMap((c) => c.css ?? []))].map((file) => ({ file, gz: gz(file) }));
const total = js.reduce((s, c) => s + c.gz, 0);
const kb = (n) => (n / 1024).toFixed(1);

for (const c of js.sort((a, b) => b.gz - a.gz)) process.stdout.write(`  ${c.file.padEnd(48)} ${kb(c.gz).padStart(7)} KB gz\n`);
process.stdout.write(
  `login route initial JS: ${kb(total)} KB gzipped (${js.length} chunk(s); budget ${budgetKb} KB)` +
    (css.length ? `; CSS ${kb(css.reduce((s, c) => s + c.gz, 0))} KB gzipped` : '') +
    '\n',
);

for (const name of [
  'features/overview/OverviewView.vue',
  'features/tasks/TaskDetailView.vue',
  'features/tasks/TasksView.vue',
  'features/workers/WorkersView.vue',
  'features/workflows/WorkflowsView.vue',
  'features/workflows/WorkflowEditorView.vue',
  'features/workflows/RunView.vue',
]) {
  const key = routeChunk(name);
  if (!key) continue;
  const extra = closure([key]).filter((c) => !chunks.includes(c));
  process.stdout.write(`  + ${name.split('/').pop()} route adds ${kb(extra.reduce((s, c) => s + gz(c.file), 0))} KB gz\n`);
}
if (total > budgetKb * 1024) {
  process.stderr.write(`login route initial JS is over budget: ${kb(total)} KB > ${budgetKb} KB gzipped\n`);
  process.exit(1);
}
