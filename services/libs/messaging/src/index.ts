/** @agentyard/messaging: NATS request/reply + JetStream for NestJS services, provisioning, the event relay. */
export { connectNats, ConnectionState, drainNats, NatsConnectionProvider, type NatsConnectOptions } from './nats-connection';
export {
  ensureStream,
  ensureStreamIfAbsent,
  ensureConsumer,
  eventStreamConfig,
  deadLetterStreamConfig,
  workStreamConfig,
  consumerConfigFor,
  consumerDefaults,
  compareConfig,
  ProvisioningMismatchError,
  EVENT_DUPLICATE_WINDOW_MS,
  type StreamSpec,
  type ConsumerSpec,
  type ConfigMismatch,
  type EventConsumerOptions,
  type InboundVerdict,
} from './provisioning';
export {
  defineConsumer,
  OnConsumer,
  contextStream,
  eventFilter,
  consumerDeclarationProblems,
  patternCovers,
  type ConsumerDeclaration,
  type MessageOf,
  type StreamRef,
} from './consumer-declaration';
export { NatsJetStreamServer, NATS_JETSTREAM, type NatsJetStreamServerOptions, type EventHandlerExtras } from './nats-jetstream.server';
export { NatsRequestContext, JetStreamEventContext, type JetStreamDelivery, type EventBatchItem, type EventBatchResult } from './nats-jetstream.context';
export { RpcErrorPassthroughFilter } from './rpc-error.filter';
export { NatsRpcClient, type NatsRpcClientOptions, type RequestOptions } from './nats-rpc.client';
export { publishAcked, publishEvent, EVENT_TYPE_HEADER, type PublishAckedOptions, type PublishEventOptions } from './event-publisher';
export { deadLetterHeaders, publishDeadLetter, deadLetterSourceOf, type DeadLetterSource } from './dead-letter';
export { ERROR_HEADER, STATUS_HEADER, INTERNAL_ERROR_MESSAGE, isDomainError, toErrorBody, fromErrorReply } from './error-reply';
export {
  TRACEPARENT_HEADER,
  currentTrace,
  runWithTrace,
  parseTraceparent,
  newSpan,
  injectTrace,
  extractTrace,
  outgoingSpan,
  type TraceContext,
} from './trace-context';
export { subjectMatches, subjectsOverlap, assertSubjectPattern } from './subject-match';
export { EventRelay, type EventRelayOptions, type CheckpointStore, type EventLogReader } from './event-relay';
export { relayingWork, type RelayingWorkOptions } from './relaying-work';
export { issueWorkerCreds } from './nats-auth';
export { requestMetadata, causedBy } from './correlation';
export { handleBatchByKey, handleBatchInOrder, KEYS_AT_ONCE } from './batch-by-key';
export { parseInboundEvent, type InboundEvent } from './inbound-event';
