#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size --lite-mode --no-expose-wasm --single-threaded-gc
// The installed command: a shim so the compiled entry stays in dist/ (built by infra/scripts/build.mjs).
// The flags keep V8's young generation small, make it favour size over speed and run its
// interpreter only (--lite-mode implies --jitless; WebAssembly is off with it, so the agent uses no
// fetch/undici); --single-threaded-gc spares the GC helper threads (1.5 MB resident with a heap
// this small, where they buy nothing): an idle agent allocates and runs little, and the defaults
// hold several MB of resident memory it never needs, while streaming output costs the same CPU
// either way (its work is in native code). Measured in bench/README.md. Launchers that run
// dist/main.js directly read the flags from the line above (local-infra `agentNodeFlags`).
'use strict';
require('../dist/main.js');
