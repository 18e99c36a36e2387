/*
 * Shows which replica holds a service's lease: a `leader` field in /health/ready (every replica
 * is ready; only the holder runs the singleton work) and the metrics `agentyard_lease_holder`
 * (0/1), `agentyard_lease_epoch` and `agentyard_lease_refused_writes_total` (writes of this
 * process the database refused because their epoch was no longer current).
 */
import { Counter, Gauge } from 'prom-client';
import type { HealthRegistry } from './health';
import type { MetricsRegistry } from './metrics';

/** What a LeaseKeeper (@agentyard/event-store) tells about itself. */
export interface LeaseStatus {
  readonly name: string;
  readonly holder: string;
  readonly holding: boolean;
  readonly epoch: bigint | undefined;
  readonly refusedWrites: number;
}

/** Registers the lease's `leader` health field and its metrics. */
export function exposeLease(health: HealthRegistry, metrics: MetricsRegistry, lease: LeaseStatus): void {
  health.describe('leader', () => ({ lease: lease.name, holder: lease.holder, holding: lease.holding, epoch: lease.epoch?.toString() ?? null }));
  new Gauge({
    name: 'agentyard_lease_holder',
    help: '1 while this replica holds the lease, else 0',
    labelNames: ['lease'],
    registers: [metrics.registry],
    collect() {
      this.set({ lease: lease.name }, lease.holding ? 1 : 0);
    },
  });
  new Gauge({
    name: 'agentyard_lease_epoch',
    help: 'Epoch of the tenure this replica holds (0 when it holds none)',
    labelNames: ['lease'],
    registers: [metrics.registry],
    collect() {
      this.set({ lease: lease.name }, Number(lease.epoch ?? 0n));
    },
  });
  let counted = 0;
  new Counter({
    name: 'agentyard_lease_refused_writes_total',
    help: 'Writes of this replica refused because their lease epoch was no longer current',
    labelNames: ['lease'],
    registers: [metrics.registry],
    collect() {
      this.inc({ lease: lease.name }, lease.refusedWrites - counted);
      counted = lease.refusedWrites;
    },
  });
}
