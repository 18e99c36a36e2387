/** @agentyard/event-store: the EventStore port, its Postgres adapter (default) and its KurrentDB adapter. */
export {
  DuplicateEventId,
  VersionConflict,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type ReadAllOptions,
  type ReadStreamOptions,
  type SubscribeOptions,
  type Subscription,
} from './event-store.port';
export { PostgresEventStore, type PostgresEventStoreConnectOptions, type PostgresEventStoreOptions } from './postgres/postgres-event-store';
export { PostgresCheckpointStore } from './postgres/postgres-checkpoint-store';
export { openPool } from './postgres/open-pool';
export { WakeSignal } from './postgres/wake-signal';
export { AppendFollower, type AppendFollowerOptions, type AppendSource } from './append-follower';
export { LeaseLost, PostgresLeases, assertLeaseCurrent, type LeaseFence, type LeaseRow } from './postgres/postgres-leases';
export {
  DEFAULT_LEASE_SETTINGS,
  afterAcquire,
  afterRenew,
  afterStepDown,
  believesHeld,
  decideTick,
  leaseSettingsFor,
  standby,
  type LeaseSettings,
  type LeaseState,
  type LeaseTick,
  type LeaseTransition,
} from './lease/lease.decide';
export { LeaseKeeper, type LeaseKeeperOptions, type LeaseWork } from './lease/lease-keeper';
export { serviceLease, type ServiceLeaseOptions } from './lease/service-lease';
export type { KyselyTransaction } from './postgres/kysely-transaction';
export { DEFAULT_EVENT_STORE_SCHEMA, eventStoreMigrations, migrateEventStore } from './postgres/postgres-event-store.migrations';
export { MAX_EVENTS_PER_TRANSACTION, logPosition, ordinalOf, transactionIdOf } from './postgres/log-position';
export { KurrentDbEventStore } from './kurrentdb/kurrentdb-event-store';
