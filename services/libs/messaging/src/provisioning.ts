/*
 * Idempotent JetStream provisioning, run by every service at boot. Invariants (tested in
 * provisioning.int.spec.ts):
 *  - create vs update is decided here, by `info` first: the v3 client's `add` sends
 *    `action: "create"`, which nats-server 2.9 ignores (there `add` silently updates);
 *  - after every create or update the config is read back and each field we asked for is
 *    compared: 2.9 silently drops fields it does not know (e.g. `allow_msg_ttl`, `pause_until`)
 *    and overrides others (a consumer `backoff` replaces `ack_wait`). A difference throws
 *    ProvisioningMismatchError so the service fails to start instead of running on a config
 *    nobody asked for;
 *  - event streams use file storage, limits retention (never work-queue: it deletes on ack)
 *    and a 10-minute duplicate window, so the relay's msg-id dedup covers a restart.
 */
import { deadLetterStream, streamName, streamSubjects, type Context, workStream } from '@agentyard/contracts';
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  ReplayPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type ConsumerInfo,
  type ConsumerUpdateConfig,
  type JetStreamManager,
  type StreamConfig,
  type StreamInfo,
  type StreamUpdateConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';

/** A stream config to ensure: `name` plus whichever fields we care about. */
export type StreamSpec = Partial<StreamConfig> & { name: string };
/** A durable consumer config to ensure: `durable_name` plus whichever fields we care about. */
export type ConsumerSpec = Partial<ConsumerConfig> & { durable_name: string };

/** Dedup window of event streams: long enough to cover a relay restart. */
export const EVENT_DUPLICATE_WINDOW_MS = 10 * 60_000;

const API_STREAM_NOT_FOUND = 10059;
const API_CONSUMER_NOT_FOUND = 10014;
const API_STREAM_NAME_IN_USE = 10058;

/** One field the server holds differently from what we asked for. */
export interface ConfigMismatch {
  field: string;
  asked: unknown;
  actual: unknown;
}

/** Thrown when a stream's or consumer's read-back config differs from the one we asked for. */
export class ProvisioningMismatchError extends Error {
  constructor(
    readonly kind: 'stream' | 'consumer',
    readonly resource: string,
    readonly mismatches: ConfigMismatch[],
  ) {
    super(
      `${kind} ${resource} does not hold the config we asked for (the server dropped or overrode it): ` +
        mismatches.map((m) => `${m.field}: asked ${JSON.stringify(m.asked)}, server has ${JSON.stringify(m.actual)}${hint(kind, m.field)}`).join('; '),
    );
    this.name = 'ProvisioningMismatchError';
  }
}

/** Config of a context's event stream (e.g. TASKS): file storage, limits retention, 10 min dedup. */
export function eventStreamConfig(context: Context, overrides: Partial<StreamConfig> = {}): StreamSpec {
  return {
    name: streamName(context),
    subjects: streamSubjects(context),
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(EVENT_DUPLICATE_WINDOW_MS),
    ...overrides,
  };
}

/**
 * Config of the `WORK` stream (assignments to agents, their reports). Shared so the tasks and
 * workers services, whichever boots first, create the same stream. Limits retention (work-queue
 * would delete on ack), 7 days, 10 min dedup.
 */
export function workStreamConfig(overrides: Partial<StreamConfig> = {}): StreamSpec {
  return {
    name: workStream.name,
    subjects: [...workStream.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    max_age: nanos(7 * 24 * 3600 * 1000),
    duplicate_window: nanos(EVENT_DUPLICATE_WINDOW_MS),
    ...overrides,
  };
}

/** Config of the `DLQ` stream that captures every consumer's dead letters (`dlq.>`). */
export function deadLetterStreamConfig(overrides: Partial<StreamConfig> = {}): StreamSpec {
  return {
    name: deadLetterStream.name,
    subjects: [...deadLetterStream.subjects],
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    duplicate_window: nanos(EVENT_DUPLICATE_WINDOW_MS),
    ...overrides,
  };
}

/** Creates the stream if absent, updates it if it differs, then verifies the read-back config. */
export async function ensureStream(jsm: JetStreamManager, config: StreamSpec): Promise<StreamInfo> {
  let info = await streamInfoOrUndefined(jsm, config.name);
  if (!info) {
    try {
      info = await jsm.streams.add(config);
    } catch (error) {
      // Another instance created it between our info and add, with a different config.
      if (apiCode(error) !== API_STREAM_NAME_IN_USE) throw error;
      info = await jsm.streams.info(config.name);
    }
  }
  if (compareConfig(config, info.config).length > 0) {
    try {
      info = await jsm.streams.update(config.name, config as Partial<StreamUpdateConfig>);
    } catch (error) {
      throw new Error(`cannot update stream ${config.name}: ${errorMessage(error)}`, { cause: error });
    }
  }
  const mismatches = compareConfig(config, info.config);
  if (mismatches.length > 0) throw new ProvisioningMismatchError('stream', config.name, mismatches);
  return info;
}

/**
 * Creates the stream only when it is absent, whatever the config of one that exists: for streams
 * another service owns (it ensures their exact config), so a fresh start in any order works and
 * two services never "correct" each other's stream at every boot.
 */
export async function ensureStreamIfAbsent(jsm: JetStreamManager, config: StreamSpec): Promise<void> {
  if (await streamInfoOrUndefined(jsm, config.name)) return;
  try {
    await jsm.streams.add(config);
  } catch (error) {
    // Its owner created it between our info and add: theirs stands.
    if (apiCode(error) !== API_STREAM_NAME_IN_USE) throw error;
  }
}

/** Creates the durable consumer if absent, updates it if it differs, then verifies it. */
export async function ensureConsumer(jsm: JetStreamManager, stream: string, config: ConsumerSpec): Promise<ConsumerInfo> {
  const name = `${stream}/${config.durable_name}`;
  let info: ConsumerInfo | undefined;
  try {
    info = await jsm.consumers.info(stream, config.durable_name);
  } catch (error) {
    const code = apiCode(error);
    if (code === API_STREAM_NOT_FOUND) {
      throw new Error(`cannot create consumer ${name}: stream ${stream} does not exist (ensureStream it first)`, { cause: error });
    }
    if (code !== API_CONSUMER_NOT_FOUND) throw error;
  }
  try {
    if (!info) info = await jsm.consumers.add(stream, config);
    else if (compareConfig(config, info.config).length > 0) {
      info = await jsm.consumers.update(stream, config.durable_name, config as Partial<ConsumerUpdateConfig>);
    }
  } catch (error) {
    throw new Error(`cannot ${info ? 'update' : 'create'} consumer ${name}: ${errorMessage(error)}`, { cause: error });
  }
  const mismatches = compareConfig(config, info.config);
  if (mismatches.length > 0) throw new ProvisioningMismatchError('consumer', name, mismatches);
  return info;
}

/** Options of one durable pull consumer the NatsJetStreamServer runs (see `consumerConfigFor`). */
export interface EventConsumerOptions {
  /** Stream to consume, e.g. `TASKS`. */
  stream: string;
  /** Durable consumer name, e.g. `allocation-task-queued`; also names its dead-letter subject. */
  durable: string;
  /** Only messages on these subjects; default: the whole stream. */
  filterSubject?: string;
  /** Deliveries before a still-failing message is dead-lettered. Default 5. */
  maxDeliver?: number;
  /**
   * Time a delivery may go without an ack or a progress signal before the server redelivers it:
   * how long a message handed to an instance that died waits before another takes it. Default
   * 5 000 ms.
   */
  ackWaitMs?: number;
  /**
   * How long a handler may run: while it does, its delivery is kept with a progress signal
   * (`working()`) every third of `ackWaitMs`, so a short ack wait does not redeliver a slow
   * handler's message; past this, the signals stop and the server redelivers (a hung handler
   * ends in the dead letter). Default 30 000 ms; never below `ackWaitMs`.
   */
  maxHandleMs?: number;
  /**
   * Delay before redelivery after the n-th failed delivery (`nak(delay)`, last entry repeats).
   * Applied client-side, never sent as the consumer's `backoff`: on 2.9 that replaces `ack_wait`
   * with `backoff[0]`. Default [1 000, 5 000, 30 000] ms.
   */
  backoffMs?: number[];
  /** Messages handled at once; 1 keeps stream order. Default 1. */
  concurrency?: number;
  /**
   * Hand the bound handlers up to `concurrency` messages per call, in stream order, as an
   * `EventBatchItem[]`; messages arriving while a batch is handled form the next one (so a batch
   * handler can apply a whole batch in one transaction, in order). The handler returns one entry
   * per item: undefined when handled, else why it failed (that item alone is redelivered).
   */
  batch?: boolean;
  /** Server-side cap of unacked messages across all instances. Default: the server's (1 000). */
  maxAckPending?: number;
  /** Where a newly created consumer starts. Default `all` (the whole stream). */
  deliverPolicy?: 'all' | 'new';
  /**
   * Checks a delivered message (parsed JSON) before any handler: handle it (as this value), ack
   * it unread, or drop it (logged and acked). Set by `defineConsumer`; default: handle as is.
   */
  inbound?: (data: unknown) => InboundVerdict;
}

/** What the inbound check of a consumer decided about one message (consumer-declaration.ts). */
export type InboundVerdict = { handle: unknown } | { skip: true } | { drop: string; details?: unknown };

/** Defaults for EventConsumerOptions. */
export const consumerDefaults = {
  maxDeliver: 5,
  ackWaitMs: 5_000,
  maxHandleMs: 30_000,
  backoffMs: [1_000, 5_000, 30_000],
  concurrency: 1,
} as const;

/** The server-side config for EventConsumerOptions: durable, pull, explicit ack. */
export function consumerConfigFor(options: EventConsumerOptions): ConsumerSpec {
  const spec: ConsumerSpec = {
    durable_name: options.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: options.deliverPolicy === 'new' ? DeliverPolicy.New : DeliverPolicy.All,
    replay_policy: ReplayPolicy.Instant,
    max_deliver: options.maxDeliver ?? consumerDefaults.maxDeliver,
    ack_wait: nanos(options.ackWaitMs ?? consumerDefaults.ackWaitMs),
  };
  if (options.filterSubject) spec.filter_subject = options.filterSubject;
  if (options.maxAckPending !== undefined) spec.max_ack_pending = options.maxAckPending;
  return spec;
}

/**
 * Fields of `asked` the server holds differently. A zero value we asked for (false, 0, '', [])
 * equals an absent one, since the server omits zero values from its JSON.
 */
export function compareConfig(asked: object, actual: object): ConfigMismatch[] {
  const got = actual as Record<string, unknown>;
  const mismatches: ConfigMismatch[] = [];
  for (const [field, value] of Object.entries(asked)) {
    if (value === undefined) continue;
    const held = got[field];
    if (deepEqual(value, held) || (held === undefined && isZero(value))) continue;
    mismatches.push({ field, asked: value, actual: held });
  }
  return mismatches;
}

async function streamInfoOrUndefined(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (error) {
    if (apiCode(error) === API_STREAM_NOT_FOUND) return undefined;
    throw error;
  }
}

function apiCode(error: unknown): number | undefined {
  return error instanceof JetStreamApiError ? error.code : undefined;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function isZero(value: unknown): boolean {
  if (value === false || value === 0 || value === '' || value === null) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && value !== null && Object.keys(value).length === 0;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function hint(kind: 'stream' | 'consumer', field: string): string {
  if (kind === 'consumer' && field === 'ack_wait') return ' (a consumer backoff replaces ack_wait with backoff[0])';
  return '';
}
