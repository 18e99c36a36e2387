/*
 * A tiny line logger on stderr. The agent runs on people's machines, often in a terminal or under
 * systemd, so plain readable lines beat JSON here; stdout stays free for command output (doctor).
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Writes `<iso time> <level> <message>` lines at or above `level` (default info, or $AGENTYARD_LOG_LEVEL). */
export function createLogger(level: LogLevel = envLevel() ?? 'info', write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const log = (at: LogLevel, message: string): void => {
    if (order[at] >= order[level]) write(`${new Date().toISOString()} ${at.padEnd(5)} ${message}\n`);
  };
  return {
    debug: (m) => log('debug', m),
    info: (m) => log('info', m),
    warn: (m) => log('warn', m),
    error: (m) => log('error', m),
  };
}

function envLevel(): LogLevel | undefined {
  const value = process.env.AGENTYARD_LOG_LEVEL;
  return value && value in order ? (value as LogLevel) : undefined;
}

/** The message of anything thrown, for log lines. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
