#!/usr/bin/env -S node --max-semi-space-size=1 --optimize-for-size
// The installed command: a shim so the compiled entry stays in dist/ (built by infra/scripts/build.mjs).
// The flags keep V8's young generation small and make it favour size over speed: an idle agent
// allocates and runs little, and the defaults hold several MB of resident memory it never
// needs (measured: bench/README.md). Launchers that run
// dist/main.js directly read the flags from the line above (local-infra `agentNodeFlags`).
'use strict';
require('../dist/main.js');
