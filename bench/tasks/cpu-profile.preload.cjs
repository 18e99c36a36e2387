// Loaded with `node --require` into one service by `PROFILE=<service> npm run bench:tasks`: records
// a V8 CPU profile from start-up and writes it to $PROFILE_DIR (default /tmp/agentyard-prof) after
// PROF_MS (default 40 s) — a service stopped by SIGTERM would not get to write one on exit.
const inspector = require('node:inspector');
const fs = require('node:fs');
const dir = process.env.PROFILE_DIR ?? '/tmp/agentyard-prof';
const session = new inspector.Session();
session.connect();
session.post('Profiler.enable', () => session.post('Profiler.start'));
setTimeout(
  () => {
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      fs.mkdirSync(dir, { recursive: true });
      fs.writeFileSync(`${dir}/${process.pid}.cpuprofile`, JSON.stringify(result.profile));
    });
  },
  Number(process.env.PROF_MS ?? 40_000),
).unref();
