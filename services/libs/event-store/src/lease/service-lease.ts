/**
 * The one lease a service's singleton work runs under (`<service>-leader`), as every service's
 * main takes it: held by `<hostname>:<HTTP port>` — one live process per pod and port, so a
 * restart takes the lease back at once — with the ttl of LEASE_TTL_MS.
 */
import { hostname } from 'node:os';
import { leaseSettingsFor } from './lease.decide';
import { LeaseKeeper, type LeaseRepository, type LeaseWork } from './lease-keeper';

export interface ServiceLeaseOptions {
  leases: LeaseRepository;
  /** e.g. `tasks`: the lease is `tasks-leader`. */
  service: string;
  /** The process's HTTP port (health and metrics): part of the holder id. */
  port: number;
  ttlMs: number;
  logger: { info(message: string): void; warn(message: string): void };
  work: LeaseWork;
}

export function serviceLease(options: ServiceLeaseOptions): LeaseKeeper {
  return new LeaseKeeper({
    leases: options.leases,
    name: `${options.service}-leader`,
    holder: `${hostname()}:${options.port}`,
    settings: leaseSettingsFor(options.ttlMs),
    logger: options.logger,
    work: options.work,
  });
}
