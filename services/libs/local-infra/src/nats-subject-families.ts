/*
 * Every NATS subject family the platform uses, derived from the contracts — each context's event,
 * command and query subjects, every `*Subjects` map (its functions called with another worker's
 * id) and RPC catalog entry, every stream and KV bucket and the JetStream API over each, the work
 * subjects, dead letters, inboxes and the system account — so a new family is probed without
 * anyone listing it.
 * `probeNatsPermissions` tries each one on a live connection and reports what the server did not
 * refuse. Used by messaging's nats-auth.int.spec.ts and the gateway's security suite.
 */
import * as contracts from '@agentyard/contracts';
import type { NatsConnection } from '@nats-io/transport-node';

export interface SubjectProbe {
  publish: string[];
  subscribe: string[];
}

/** Named values of the contracts: `*Subjects` maps, `*Bucket` names and `{ name, subjects }` streams. */
function contractNames(): { subjectMaps: Array<Record<string, unknown>>; buckets: string[]; streams: string[] } {
  const entries = Object.entries(contracts as Record<string, unknown>);
  const subjectMaps = entries.filter(([k, v]) => k.endsWith('Subjects') && v && typeof v === 'object').map(([, v]) => v as Record<string, unknown>);
  const buckets = entries.filter(([k, v]) => k.endsWith('Bucket') && typeof v === 'string').map(([, v]) => v as string);
  const streams = [
    ...contracts.contexts.map(contracts.streamName),
    ...entries
      .filter(
        ([, v]) => v && typeof v === 'object' && typeof (v as { name?: unknown }).name === 'string' && Array.isArray((v as { subjects?: unknown }).subjects),
      )
      .map(([, v]) => (v as { name: string }).name),
    ...buckets.map((b) => `KV_${b}`),
  ];
  return { subjectMaps, buckets, streams: [...new Set(streams)] };
}

/** Subjects a worker (`own`) must be refused, publishing and subscribing; `other` is another worker. */
export function foreignSubjects(own: string, other: string): SubjectProbe {
  const { subjectMaps, buckets, streams } = contractNames();
  const platform = subjectMaps.flatMap((map) =>
    Object.values(map).flatMap((v) => (typeof v === 'string' ? [v] : typeof v === 'function' ? [(v as (...a: string[]) => string)(other, 'some-task')] : [])),
  );
  // Every request/reply subject of the RPC catalog too, should a `*Subjects` map ever drop one.
  const rpc = Object.values(contracts.rpcCatalog).flatMap((ops) => Object.values(ops as Record<string, contracts.RpcEntry>).map((e) => e.subject));
  platform.push(...rpc.filter((subject) => !platform.includes(subject)));
  const consumerOf = (id: string) => contracts.workerConsumerName(id);
  const jsApi = streams.flatMap((s) => [
    `$JS.API.STREAM.INFO.${s}`,
    `$JS.API.STREAM.MSG.GET.${s}`,
    `$JS.API.DIRECT.GET.${s}`,
    `$JS.API.STREAM.PURGE.${s}`,
    `$JS.API.STREAM.DELETE.${s}`,
    `$JS.API.STREAM.UPDATE.${s}`,
    `$JS.API.CONSUMER.CREATE.${s}`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${s}.spy`,
    `$JS.API.CONSUMER.NAMES.${s}`,
  ]);
  const work = contracts.workStream.name;
  return {
    publish: [
      ...contracts.contexts.flatMap((c) => [
        contracts.eventSubject(c, 'SomethingHappened', 'x'),
        contracts.commandSubject(c, 'DoSomething'),
        contracts.querySubject(c, 'AskSomething'),
      ]),
      ...platform,
      contracts.workSubjects.assign(own),
      contracts.deadLetterSubject(work, consumerOf(own)),
      '$JS.API.INFO',
      '$JS.API.STREAM.LIST',
      '$JS.API.STREAM.NAMES',
      '$JS.API.STREAM.CREATE.SPY',
      ...jsApi,
      `$JS.API.CONSUMER.INFO.${work}.${consumerOf(other)}`,
      `$JS.API.CONSUMER.MSG.NEXT.${work}.${consumerOf(other)}`,
      `$JS.API.CONSUMER.DELETE.${work}.${consumerOf(own)}`,
      `$JS.ACK.${work}.${consumerOf(other)}.1.1.1.1.1`,
      ...buckets.map((b) => `$KV.${b}.${other}`),
      `${contracts.workerInboxPrefix(other)}.reply`,
      '_INBOX.reply',
      '$SYS.REQ.SERVER.PING',
    ],
    subscribe: [
      '>',
      '*.>',
      ...contracts.contexts.flatMap((c) => [`${c}.events.>`, `${c}.commands.>`, `${c}.queries.>`]),
      ...platform,
      contracts.workSubjects.assign(own),
      'work.>',
      'work.output.>',
      'work.heartbeat.>',
      `${contracts.workStream.subjects[1]}`,
      `${contracts.deadLetterStream.subjects[0]}`,
      '$JS.>',
      '$JS.EVENT.>',
      ...buckets.map((b) => `$KV.${b}.>`),
      '_INBOX.>',
      `${contracts.workerInboxPrefix(other)}.>`,
      '$SYS.>',
    ],
  };
}

/**
 * What a worker's own user must be allowed: its heartbeat, output, its consumer, its inbox. (Not
 * its reports: a probe there would be stored on WORK as a malformed report for the tasks service.)
 */
export function ownSubjects(own: string): SubjectProbe {
  return {
    publish: [
      contracts.workSubjects.heartbeat(own),
      contracts.workSubjects.output(own, 'some-task'),
      `$JS.API.CONSUMER.INFO.${contracts.workStream.name}.${contracts.workerConsumerName(own)}`,
    ],
    subscribe: [`${contracts.workerInboxPrefix(own)}.probe`],
  };
}

/**
 * Publishes to and subscribes on each subject, then reports the ones the server did not refuse
 * (it answers each refused one with a "Permissions Violation" error on the connection).
 */
export async function probeNatsPermissions(nc: NatsConnection, probe: SubjectProbe, settleMs = 500): Promise<SubjectProbe> {
  const errors: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String((s as { error?: unknown }).error));
  })();
  for (const subject of probe.subscribe) nc.subscribe(subject, { callback: () => undefined });
  for (const subject of probe.publish) nc.publish(subject, '{}');
  await nc.flush().catch(() => undefined);
  await new Promise((r) => setTimeout(r, settleMs));
  const refused = (verb: 'Publish' | 'Subscription', subject: string) => errors.some((e) => e.includes(`Permissions Violation for ${verb} to "${subject}"`));
  return {
    publish: probe.publish.filter((s) => !refused('Publish', s)),
    subscribe: probe.subscribe.filter((s) => !refused('Subscription', s)),
  };
}
