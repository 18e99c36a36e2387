/*
 * The command line. Commander parses flags; every value is then validated once, with the config
 * file's, by `resolveWorkerOptions`. Exit codes: 0 ok, 1 runtime failure (refused registration,
 * doctor found problems), 2 usage error (unknown flag, bad value, missing config file).
 */
import type { runDoctor as RunDoctor } from './doctor.command';
import { Command, CommanderError } from 'commander';
import { loadAgentConfig } from '../config/agent-config.loader';
import { OptionsError, resolveWorkerOptions, type RawOptions } from '../config/worker-options';
import { createLogger, describeError } from '../logging/logger';
import { agentVersion } from '../version';
import { runStart } from './start.command';

export const usageExitCode = 2;

/** `agentyard-worker <args>` with the value of `--token` replaced by `***`, for the process title. */
export function redactedTitle(argv: string[]): string {
  const args = argv.slice(2).map((arg, i, all) => (all[i - 1] === '--token' ? '***' : arg.startsWith('--token=') ? '--token=***' : arg));
  return ['agentyard-worker', ...args].join(' ');
}

/** Runs the CLI with `argv` (process.argv shape); resolves with the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('agentyard-worker')
    .description('Agentyard worker agent: runs tasks from the platform on this machine.')
    .version(agentVersion)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)');

  program
    .command('start')
    .description('register (first run) and run tasks until SIGTERM/SIGINT')
    .option('--url <url>', 'platform base URL, e.g. http://host:8080')
    .option('--token <token>', 'registration token (ayr_…); needed only until credentials are stored')
    .option('--slots <n>', 'tasks run at once (default 1)')
    .option('--name <name>', 'worker name (default: hostname)')
    .option('--labels <a,b>', 'comma-separated labels, e.g. gpu,linux')
    .option('--config <file>', 'agent.yaml with the same options (flags win)')
    .option('--state-dir <dir>', 'credentials and work directories (default ~/.agentyard)')
    .option('--drain-timeout <seconds>', 'on SIGTERM, time running tasks get to finish (default 60)')
    .option('--repo-root <dirs>', 'directories (comma-separated, absolute) whose git repositories tasks may name by path; default none (URLs only)')
    .option('--tool-probe-interval <seconds>', 'how often the tools are probed again, so a broken or new one is noticed (default 300; 0 = only at start)')
    .option('--stall-seconds <seconds>', 'report a silent task (no output, CPU or file change) as stalled after this long (default 0 = off)')
    .option(
      '--worktree-retention <duration>',
      "how long a finished task's git worktree is kept, in seconds or with s/m/h/d, e.g. 90m, 7d (default 24h; its branch stays in the mirror)",
    )
    .option(
      '--worktree-disk-budget <size>',
      'most disk all worktrees may use, in bytes or K/M/G/T (binary), e.g. 500M; over it finished ones go oldest first, running ones never (default 10G)',
    )
    .option('--prices <file>', "JSON/YAML prices per model (USD per million tokens) for tasks' cost caps on tools that report no cost (default none)")
    .option(
      '--isolation <mode>',
      "auto (default: bubblewrap sandbox, else as root a task uid, else refuse to start) | bubblewrap | task-user | none (tasks can read this worker's credential)",
    )
    .action(async (flags: RawOptions & { config?: string }) => {
      const options = resolve(flags);
      exitCode = await runStart(options, createLogger());
    });

  program
    .command('doctor')
    .description('show tools, resources and credentials; check the platform and NATS')
    .option('--url <url>', 'platform base URL to check')
    .option('--config <file>', 'agent.yaml to read options from')
    .option('--state-dir <dir>', 'state directory (default ~/.agentyard)')
    .option('--isolation <mode>', 'the isolation start would use (default auto)')
    .action(async (flags: RawOptions & { config?: string }) => {
      // Loaded here, not at the top: an agent that runs `start` never needs it (about 1 MB resident).
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { runDoctor } = require('./doctor.command') as { runDoctor: typeof RunDoctor };
      exitCode = await runDoctor(resolve(flags));
    });

  try {
    await program.parseAsync(argv);
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : usageExitCode;
    if (error instanceof OptionsError) {
      process.stderr.write(`agentyard-worker: ${error.message}\n`);
      return usageExitCode;
    }
    process.stderr.write(`agentyard-worker: ${describeError(error)}\n`);
    return 1;
  }
}

function resolve(flags: RawOptions & { config?: string }) {
  const { config, ...rest } = flags;
  return resolveWorkerOptions(rest, config ? loadAgentConfig(config) : {});
}
