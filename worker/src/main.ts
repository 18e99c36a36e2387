/* Entry point of `agentyard-worker` (bin/agentyard-worker.js requires the compiled dist/main.js). */
import { runCli } from './cli/cli.program';

void runCli(process.argv).then((code) => {
  // Exit explicitly: library timers (sampling, sockets) must not keep a finished agent alive.
  process.exit(code);
});
