/* Entry point of `agentyard-worker` (bin/agentyard-worker.js requires the compiled dist/main.js). */
import { redactedTitle, runCli } from './cli/cli.program';

// /proc/<pid>/cmdline is world-readable: the registration token must not stay in it.
process.title = redactedTitle(process.argv);

void runCli(process.argv).then((code) => {
  // Exit explicitly: library timers (sampling, sockets) must not keep a finished agent alive.
  process.exit(code);
});
