#!/usr/bin/env node
// The installed command: a shim so the compiled entry stays in dist/ (built by infra/scripts/build.mjs).
'use strict';
require('../dist/main.js');
