#!/usr/bin/env node
// Packs the worker agent as a self-contained npm tarball the platform serves to the machines that
// run it (gateway `GET /downloads/…`): dist/downloads/agentyard-worker-<version>.tgz plus
// agentyard-worker.json (version, file, sha256, size), which the install command and the gateway
// read. Run by build.mjs (so by `npm start` and the Docker build) and on its own:
// `node infra/scripts/pack-worker.mjs`.
//
// Why a tarball of our own: the agent lives in this monorepo and imports @agentyard/contracts, a
// private workspace package. A machine outside the repository cannot resolve that, and asking the
// public registry for either name would fetch whatever someone published there. So the compiled
// contracts the agent uses are copied into the package (vendor/contracts, the agent's requires
// rewritten to relative paths: nothing named @agentyard/* is left to resolve), and the package
// lists only public dependencies, pinned to the exact versions of the root package.json.
// Every bare require of the shipped code must be a Node built-in or one of those pins, or the
// pack fails: a new dependency cannot be forgotten. `npm pack` writes fixed mtimes, so the same
// inputs give the same bytes and the same checksum.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { builtinModules } from 'node:module';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the platform's downloads are written (the gateway's and workers' DOWNLOADS_DIR default). */
export const downloadsDir = join(root, 'dist', 'downloads');
export const manifestName = 'agentyard-worker.json';
const contractsEntry = '@agentyard/contracts/agent';

/** What a machine needs for node-pty, which has no Linux prebuilt binary and compiles on install. */
export const buildPrerequisites =
  'Node.js 20.19+ and npm; node-pty compiles on install on Linux: python3, make and a C++ compiler (g++), e.g. `apt-get install python3 make g++`';

function* walk(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) yield* walk(full);
    else yield full;
  }
}

function* walkDirs(dir) {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      yield full;
      yield* walkDirs(full);
    }
  }
}

const requirePattern = /require\((["'])([^"']+)\1\)/g;
const specifiersOf = (code) => [...code.matchAll(requirePattern)].map((m) => m[2]);
const isBuiltin = (s) => s.startsWith('node:') || builtinModules.includes(s.split('/')[0]);
const packageNameOf = (s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);

/** The compiled worker files that have a source (stale outputs of deleted sources stay out). */
function workerFiles() {
  const dist = join(root, 'worker', 'dist');
  const src = join(root, 'worker', 'src');
  if (!existsSync(join(dist, 'main.js'))) throw new Error('worker/dist/main.js is missing: run node infra/scripts/build.mjs first');
  return [...walk(dist)].filter((f) => f.endsWith('.js') && existsSync(join(src, relative(dist, f)).replace(/\.js$/, '.ts')));
}

/** contracts/dist/agent.js and every contracts file it requires, transitively. */
function contractsFiles() {
  const dist = join(root, 'contracts', 'dist');
  const seen = new Set();
  const queue = [join(dist, 'agent.js')];
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: run node infra/scripts/build.mjs first`);
    seen.add(file);
    for (const spec of specifiersOf(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const base = resolve(dirname(file), spec);
      queue.push(existsSync(`${base}.js`) ? `${base}.js` : join(base, 'index.js'));
    }
  }
  return [...seen];
}

/**
 * npm-shrinkwrap.json for the package: the root package-lock's entries for the agent's
 * dependencies and everything they pull in, at the same places. npm honours a package's
 * shrinkwrap when it installs the package, so a machine gets the versions this repository was
 * tested with, each checked against its lockfile integrity hash — not whatever the public
 * registry's ranges resolve to that day.
 */
function shrinkwrapFor(pkg, rootLock) {
  const lockPackages = rootLock.packages;
  const packages = {
    '': { name: pkg.name, version: pkg.version, license: pkg.license, dependencies: pkg.dependencies, bin: pkg.bin, engines: pkg.engines },
  };
  /** Node's lookup from `from` (a lock location) for `name`: nearest node_modules first. */
  const locate = (from, name) => {
    for (let at = from; ;) {
      const candidate = `${at ? `${at}/` : ''}node_modules/${name}`;
      if (lockPackages[candidate]) return candidate;
      if (!at) return undefined;
      const cut = at.lastIndexOf('/node_modules/');
      at = cut < 0 ? '' : at.slice(0, cut);
    }
  };
  const queue = Object.keys(pkg.dependencies).map((name) => ['', name, false]);
  while (queue.length > 0) {
    const [from, name, optional] = queue.shift();
    const location = locate(from, name);
    if (!location) {
      if (optional) continue;
      throw new Error(`package-lock.json has no ${name} (needed from ${from || 'the root'}): run npm install`);
    }
    if (packages[location]) continue;
    const entry = { ...lockPackages[location] };
    if (entry.link) throw new Error(`${name} is a workspace link in package-lock.json, not a registry package`);
    // Dev flags describe the monorepo, not this package: here everything is a runtime dependency.
    delete entry.dev;
    delete entry.devOptional;
    delete entry.peer;
    packages[location] = entry;
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push([location, dep, false]);
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) queue.push([location, dep, true]);
    for (const dep of Object.keys(entry.peerDependencies ?? {})) queue.push([location, dep, entry.peerDependenciesMeta?.[dep]?.optional === true]);
  }
  return { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages };
}

/** The code as shipped: its source-map comment dropped (the maps and sources are not shipped). */
const shipped = (code) => code.replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n');

/** Rename over the old file: a gateway serving it (or a concurrent build) never sees half a file. */
function writeAtomically(file, data) {
  const temp = `${file}.${process.pid}.tmp`;
  writeFileSync(temp, data);
  renameSync(temp, file);
}

/** The newest modification time among the inputs, to skip a pack that would change nothing. */
function newestInput(files) {
  const extra = [
    join(root, 'worker', 'package.json'),
    join(root, 'worker', 'bin', 'agentyard-worker.js'),
    join(root, 'package.json'),
    join(root, 'package-lock.json'),
    fileURLToPath(import.meta.url),
  ];
  // A directory's mtime moves when a file in it is removed: a deleted source repacks too.
  const dirs = [join(root, 'worker', 'src'), join(root, 'contracts', 'src')].flatMap((d) => [d, ...walkDirs(d)]);
  return Math.max(...[...files, ...extra, ...dirs].map((f) => statSync(f).mtimeMs));
}

/**
 * Packs the agent unless the manifest is newer than every input (`force` packs anyway).
 * Returns the manifest.
 */
export function packWorker({ force = false, log = (m) => process.stdout.write(`${m}\n`) } = {}) {
  const worker = workerFiles();
  const contracts = contractsFiles();
  const manifestFile = join(downloadsDir, manifestName);
  if (!force && existsSync(manifestFile)) {
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    if (existsSync(join(downloadsDir, manifest.file)) && statSync(manifestFile).mtimeMs >= newestInput([...worker, ...contracts])) return manifest;
  }

  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const workerPkg = JSON.parse(readFileSync(join(root, 'worker', 'package.json'), 'utf8'));
  const pins = { ...rootPkg.devDependencies, ...rootPkg.optionalDependencies, ...rootPkg.dependencies };
  const stage = mkdtempSync(join(tmpdir(), 'agentyard-worker-pack-'));
  try {
    const pkgDir = join(stage, 'package');
    const dependencies = {};
    const need = (spec, from) => {
      if (isBuiltin(spec) || spec.startsWith('.')) return;
      const name = packageNameOf(spec);
      if (!pins[name]) throw new Error(`${from} requires ${spec}, which the root package.json does not pin: add it there`);
      dependencies[name] = pins[name];
    };

    const workerDist = join(root, 'worker', 'dist');
    const contractsDist = join(root, 'contracts', 'dist');
    for (const file of worker) {
      const rel = relative(workerDist, file);
      const target = join(pkgDir, 'dist', rel);
      // The contracts' agent entry, from this file's place in the package.
      const toContracts = posix.relative(posix.dirname(posix.join('dist', rel.split('\\').join('/'))), 'vendor/contracts/agent');
      const code = shipped(readFileSync(file, 'utf8'))
        .split(`require("${contractsEntry}")`)
        .join(`require("${toContracts.startsWith('.') ? toContracts : `./${toContracts}`}")`);
      for (const spec of specifiersOf(code)) {
        if (spec.startsWith('@agentyard/')) throw new Error(`${relative(root, file)} requires ${spec}: only ${contractsEntry} is vendored`);
        need(spec, relative(root, file));
      }
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, code);
    }
    for (const file of contracts) {
      const code = shipped(readFileSync(file, 'utf8'));
      for (const spec of specifiersOf(code)) need(spec, relative(root, file));
      const target = join(pkgDir, 'vendor', 'contracts', relative(contractsDist, file));
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, code);
    }
    mkdirSync(join(pkgDir, 'bin'), { recursive: true });
    copyFileSync(join(root, 'worker', 'bin', 'agentyard-worker.js'), join(pkgDir, 'bin', 'agentyard-worker.js'));

    const pkg = {
      name: workerPkg.name,
      version: workerPkg.version,
      description: 'The Agentyard worker agent, as served by an Agentyard platform (install it with the command the dashboard shows).',
      license: rootPkg.license,
      // Never to be published: the platform serves it, and the name on the public registry is not ours.
      private: true,
      main: 'dist/main.js',
      bin: { 'agentyard-worker': 'bin/agentyard-worker.js' },
      engines: rootPkg.engines,
      dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
    };
    writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
    const rootLock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
    writeFileSync(join(pkgDir, 'npm-shrinkwrap.json'), `${JSON.stringify(shrinkwrapFor(pkg, rootLock), null, 2)}\n`);
    writeFileSync(
      join(pkgDir, 'README.md'),
      [
        '# agentyard-worker',
        '',
        'The Agentyard worker agent, served by the platform it belongs to. Install and start it with the',
        'command the dashboard shows under Workers → Add worker; `agentyard-worker --help` lists the options.',
        '',
        `Build prerequisites: ${buildPrerequisites}.`,
        '',
      ].join('\n'),
    );

    const out = mkdtempSync(join(stage, 'out-'));
    const [packed] = JSON.parse(
      execFileSync('npm', ['pack', pkgDir, '--pack-destination', out, '--json', '--ignore-scripts'], { encoding: 'utf8', cwd: stage }),
    );
    const file = `agentyard-worker-${pkg.version}.tgz`;
    const bytes = readFileSync(join(out, packed.filename));
    mkdirSync(downloadsDir, { recursive: true });
    for (const old of readdirSync(downloadsDir)) if (/^agentyard-worker-.*\.tgz$/.test(old) && old !== file) rmSync(join(downloadsDir, old));
    writeAtomically(join(downloadsDir, file), bytes);
    const manifest = {
      name: pkg.name,
      version: pkg.version,
      file,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      size: bytes.length,
      node: pkg.engines?.node ?? '>=20',
      prerequisites: buildPrerequisites,
    };
    writeAtomically(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
    log(`pack-worker: ${relative(root, join(downloadsDir, file))} (${bytes.length} bytes, sha256 ${manifest.sha256})`);
    return manifest;
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) packWorker({ force: process.argv.includes('--force') });
