/*
 * The agent's report outbox against a real JetStream: an attempt's reports are stored in the
 * order they were sent even when one of them has to be retried, while different attempts'
 * reports are in flight together instead of waiting for each other's acknowledgements.
 */
import { jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { workReportSchema, workReportSubject, workStream, type WorkReport } from '@agentyard/contracts';
import { testNats, type NatsServer } from '@agentyard/local-infra';
import { NatsLink } from '../src/agent/nats-link';
import { ReportOutbox } from '../src/agent/report-outbox';
import type { Logger } from '../src/logging/logger';

jest.setTimeout(60_000);

let nats: NatsServer;
let nc: NatsConnection;
let js: JetStreamClient;
const quiet: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

beforeAll(async () => {
  nats = await testNats();
  nc = await connect({ servers: nats.url });
  js = jetstream(nc);
  await (await jetstreamManager(nc)).streams.add({ name: workStream.name, subjects: [...workStream.subjects] });
});

afterAll(async () => {
  await nc?.drain();
  await nats?.stop();
});

const started = (taskId: string): WorkReport => ({ kind: 'started', taskId, attempt: 1, workerId: 'w_outbox', at: new Date().toISOString() });
const finished = (taskId: string): WorkReport => ({
  kind: 'finished',
  taskId,
  attempt: 1,
  workerId: 'w_outbox',
  outcome: 'succeeded',
  result: { exitCode: 0, outputTail: '', durationMs: 1 },
});

/** The real client, watched: how many publishes are awaiting their ack at most, and one msg id's first publish refused. */
function watched(failFirst: string): { client: JetStreamClient; maxInFlight: () => number } {
  let inFlight = 0;
  let max = 0;
  let failed = false;
  const client = new Proxy(js, {
    get(target, prop, receiver) {
      if (prop !== 'publish') return Reflect.get(target, prop, receiver);
      return async (subject: string, payload: string, options: { msgID?: string }) => {
        if (options?.msgID === failFirst && !failed) {
          failed = true;
          throw new Error('timeout (refused once by the test)');
        }
        inFlight++;
        max = Math.max(max, inFlight);
        try {
          return await target.publish(subject, payload, options);
        } finally {
          inFlight--;
        }
      };
    },
  });
  return { client, maxInFlight: () => max };
}

describe('ReportOutbox', () => {
  it('stores each attempt’s reports in order, a retried started still before its finished, with different attempts in flight together', async () => {
    const subject = workReportSubject('w_outbox');
    const tasks = Array.from({ length: 20 }, (_, i) => `t_${String(i).padStart(2, '0')}`);
    const { client, maxInFlight } = watched('t_03:1:started');
    const outbox = new ReportOutbox(client, subject, quiet, { retryMinMs: 200 });
    const sent = tasks.flatMap((t) => [outbox.send(started(t)), outbox.send(finished(t))]);
    expect(await Promise.all(sent)).toEqual(sent.map(() => true));
    expect(await outbox.flush(1_000)).toBe(true);
    expect(outbox.size).toBe(0);

    // The stream holds exactly what this outbox stored, in the order it was stored (read by sequence: nats-server 2.9).
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(workStream.name);
    expect(state.messages).toBe(40);
    const stored: Array<{ seq: number; report: WorkReport }> = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(workStream.name, { seq });
      stored.push({ seq, report: workReportSchema.parse(m!.json()) });
    }
    for (const t of tasks) {
      const of = stored.filter((s) => s.report.taskId === t);
      expect(of.map((s) => s.report.kind)).toEqual(['started', 'finished']);
    }
    // The refused started was stored after other attempts' reports, and its finished after it.
    const retried = stored.filter((s) => s.report.taskId === 't_03');
    expect(retried[0]!.seq).toBeGreaterThan(stored.find((s) => s.report.taskId === 't_19' && s.report.kind === 'started')!.seq);
    // One queue for all would never have more than one publish awaiting its ack.
    expect(maxInFlight()).toBeGreaterThan(1);
    outbox.close();
  });

  it('holds a report back while NATS is down and stores it once NATS is back, not after its ack timeout', async () => {
    const conn = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
    try {
      const link = new NatsLink(conn);
      // An ack timeout the test could not wait out: only the reconnect can end the wait in time.
      const outbox = new ReportOutbox(jetstream(conn), workReportSubject('w_outbox'), quiet, { link, publishTimeoutMs: 30_000 });
      await nats.kill();
      for (const deadline = Date.now() + 5_000; link.connected && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 20));
      expect(link.connected).toBe(false);
      const sent = outbox.send(started('t_outage'));
      await new Promise((r) => setTimeout(r, 300));
      await nats.restart();
      const back = Date.now();
      await expect(sent).resolves.toBe(true);
      expect(Date.now() - back).toBeLessThan(15_000);
      const stored = await (await jetstreamManager(conn)).streams.getMessage(workStream.name, { last_by_subj: workReportSubject('w_outbox') });
      expect(workReportSchema.parse(stored!.json())).toMatchObject({ kind: 'started', taskId: 't_outage' });
      outbox.close();
    } finally {
      await conn.close();
    }
  });
});
