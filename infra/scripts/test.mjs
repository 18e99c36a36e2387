#!/usr/bin/env node
// The full test suite (`npm test`): installs nats-server and bubblewrap when missing, builds (end-to-end tests
// start the compiled services as real processes), runs every Jest suite, and ends with one plain
// line `N passed, N failed` summed over all suites — CI reads that line, not Jest's summary.
// A suite that fails to load counts as one failure, so a broken file cannot pass silently.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBubblewrap, ensureChromium, ensureNatsServer, ensureSshd } from './ensure-system-deps.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const results = join(root, '.test-results');
rmSync(results, { recursive: true, force: true });
mkdirSync(results, { recursive: true });

let passed = 0;
let failed = 0;
/** Tests reported as skipped (e.g. the KurrentDB contract suite without KURRENTDB_URL). */
let skipped = 0;
let status = 0;

try {
  process.env.NATS_SERVER_BIN = ensureNatsServer();
  ensureBubblewrap();
  ensureSshd();
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}

const build = spawnSync(process.execPath, [join(root, 'infra/scripts/build.mjs')], { stdio: 'inherit', cwd: root });
if (build.status !== 0) {
  process.stdout.write('0 passed, 1 failed\n');
  process.exit(1);
}

// The dashboard's browser tests load the built dashboard from the gateway and drive Chromium.
const hasWeb = existsSync(join(root, 'web', 'vite.config.ts'));
if (hasWeb) {
  try {
    process.env.CHROMIUM_BIN = ensureChromium();
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  }
  const web = spawnSync('npm', ['run', 'build', '--workspace', 'web'], { stdio: 'inherit', cwd: root });
  if (web.status !== 0) {
    process.stdout.write('0 passed, 1 failed\n');
    process.exit(1);
  }
}

// Lint counts as one check: it enforces the module boundaries (services never import each
// other; web and worker import only contracts), which no unit test would notice breaking.
const lint = spawnSync(process.execPath, [join(root, 'infra/scripts/lint.mjs')], { stdio: 'inherit', cwd: root });
if (lint.status === 0) passed += 1;
else {
  failed += 1;
  status = 1;
}

const extraArgs = process.argv.slice(2);
const jestOut = join(results, 'jest.json');
const jest = spawnSync(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '--ci', '--json', `--outputFile=${jestOut}`, ...extraArgs], {
  stdio: 'inherit',
  cwd: root,
  env: { ...process.env, FORCE_COLOR: process.env.FORCE_COLOR ?? '0' },
});
if (jest.status !== 0) status = 1;
if (existsSync(jestOut)) {
  const report = JSON.parse(readFileSync(jestOut, 'utf8'));
  passed += report.numPassedTests;
  failed += report.numFailedTests;
  skipped += report.numPendingTests + (report.numTodoTests ?? 0);
  // Suites that crashed before running a test (syntax error, failing import, global setup).
  failed += report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
  if (report.numTotalTests === 0) {
    process.stderr.write('jest ran no test\n');
    status = 1;
  }
} else {
  failed += 1;
}

// The dashboard's component and store tests run under Vitest (Vite's own transform for .vue).
if (hasWeb && extraArgs.length === 0) {
  const vitestOut = join(results, 'vitest.json');
  const vitest = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules/vitest/vitest.mjs'),
      'run',
      '--root',
      join(root, 'web'),
      '--reporter=default',
      '--reporter=json',
      `--outputFile.json=${vitestOut}`,
    ],
    { stdio: 'inherit', cwd: root },
  );
  if (vitest.status !== 0) status = 1;
  if (existsSync(vitestOut)) {
    const report = JSON.parse(readFileSync(vitestOut, 'utf8'));
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    failed += report.testResults.filter((r) => r.status === 'failed' && r.assertionResults.length === 0).length;
  } else {
    failed += 1;
  }
}

// The crash matrix, short (bench/chaos/chaos.mjs): each row of its table is one test here.
if (extraArgs.length === 0) {
  const chaosOut = join(results, 'chaos.json');
  const chaos = spawnSync(process.execPath, [join(root, 'bench/chaos/chaos.mjs'), '--short', '--json', chaosOut], { stdio: 'inherit', cwd: root });
  if (chaos.status !== 0) status = 1;
  if (existsSync(chaosOut)) {
    const { rows } = JSON.parse(readFileSync(chaosOut, 'utf8'));
    passed += rows.filter((r) => r.ok).length;
    failed += rows.filter((r) => !r.ok).length;
  } else {
    failed += 1;
  }
}

if (failed > 0) status = 1;
// Skipped tests get a line of their own before it: CI reads the last line as exactly `N passed, N failed`.
if (skipped > 0) process.stdout.write(`${skipped} skipped (suites that print why they cannot run here)\n`);
process.stdout.write(`${passed} passed, ${failed} failed\n`);
process.exit(status);
