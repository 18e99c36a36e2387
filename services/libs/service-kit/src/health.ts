/*
 * Liveness says "the process is not wedged" (no dependency checks, so a NATS outage does not get
 * every pod restarted); readiness says "send me traffic" and runs every registered check.
 */
import { Controller, Get, HttpCode, HttpException, HttpStatus, Injectable } from '@nestjs/common';
import { sql, type QueryExecutorProvider } from 'kysely';

export type HealthCheck = () => Promise<void> | void;

/** Registry of named readiness checks; each throws (or rejects) when not ready. */
@Injectable()
export class HealthRegistry {
  private readonly checks = new Map<string, HealthCheck>();
  private readonly facts = new Map<string, () => unknown>();
  private shuttingDown = false;

  register(name: string, check: HealthCheck): void {
    this.checks.set(name, check);
  }

  /** Adds a field to every readiness answer (e.g. `leader`: this replica's role), read when asked. */
  describe(name: string, fact: () => unknown): void {
    this.facts.set(name, fact);
  }

  /** The described fields, read now. */
  info(): Record<string, unknown> {
    return Object.fromEntries([...this.facts].map(([name, fact]) => [name, fact()]));
  }

  /** Marks the service not ready so load balancers stop routing before we drain. */
  markShuttingDown(): void {
    this.shuttingDown = true;
  }

  async run(): Promise<{ ok: boolean; checks: Record<string, string> }> {
    const results: Record<string, string> = {};
    let ok = !this.shuttingDown;
    if (this.shuttingDown) results.shutdown = 'in progress';
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          await Promise.race([
            Promise.resolve().then(check),
            new Promise((_, reject) => setTimeout(() => reject(new Error('timed out after 2 s')), 2_000).unref()),
          ]);
          results[name] = 'up';
        } catch (e) {
          ok = false;
          results[name] = `down: ${e instanceof Error ? e.message : String(e)}`;
        }
      }),
    );
    return { ok, checks: results };
  }
}

@Controller('health')
export class HealthController {
  constructor(private readonly registry: HealthRegistry) {}

  @Get('live')
  @HttpCode(200)
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  async ready(): Promise<{ status: string; checks: Record<string, string> }> {
    const { ok, checks } = await this.registry.run();
    if (!ok) throw new HttpException({ error: 'UNAVAILABLE', message: 'not ready', details: checks }, HttpStatus.SERVICE_UNAVAILABLE);
    return { status: 'ok', checks, ...this.registry.info() };
  }
}

/** Readiness check: the database answers `select 1`. */
export function postgresCheck(db: QueryExecutorProvider): HealthCheck {
  return async () => {
    await sql`select 1`.execute(db);
  };
}

/** Readiness check: the NATS connection is open. */
export function natsCheck(nc: { isClosed(): boolean }): HealthCheck {
  return () => {
    if (nc.isClosed()) throw new Error('NATS connection closed');
  };
}
