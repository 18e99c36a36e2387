#!/usr/bin/env -S node --max-semi-space-size=1
// The installed command: a shim so the compiled entry stays in dist/ (built by infra/scripts/build.mjs).
// The flag keeps V8's young generation small: an idle agent allocates little, and the default
// semi-spaces hold several MB of resident memory it never needs. Launchers that run
// dist/main.js directly read the flags from the line above (local-infra `agentNodeFlags`).
'use strict';
require('../dist/main.js');
