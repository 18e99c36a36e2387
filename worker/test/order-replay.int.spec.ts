/*
 * A replay of the WORK stream (order-replay.ts): nats-server can reset a durable consumer's ack
 * floor after an unclean stop and deliver every assignment again. Played here by deleting the
 * worker's consumer and adding it back as it was (deliver all), with a real nats-server and the
 * compiled agent. The agent remembers one finished attempt and calls an assignment stale 1.5 s
 * before the newest, so what keeps the older ones from running again is the rule, not the memory.
 */
import { workerConsumerName, workStream } from '@agentyard/contracts';
import { AgentHarness, eventually, shellTask } from './agent-harness';

const harness = new AgentHarness({ ...process.env, AGENTYARD_TEST_STALE_ORDER_MS: '1500', AGENTYARD_TEST_RECENT_LIMIT: '1' });

beforeAll(() => harness.setUp(), 120_000);
afterAll(() => harness.tearDown());

const startsOf = (taskId: string) => harness.observer.reports.items.filter((i) => i.value.kind === 'started' && i.value.taskId === taskId).length;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The consumer forgets its acks: deleted and added back as it was, it delivers every assignment again. */
async function replay(workerId: string, orders: number): Promise<void> {
  const durable = workerConsumerName(workerId);
  const { config } = await harness.jsm.consumers.info(workStream.name, durable);
  await harness.jsm.consumers.delete(workStream.name, durable);
  await harness.jsm.consumers.add(workStream.name, config);
  for (const deadline = Date.now() + 20_000; ; await pause(100)) {
    const info = await harness.jsm.consumers.info(workStream.name, durable);
    if (info.delivered.consumer_seq >= orders && info.num_ack_pending === 0 && info.num_pending === 0) return;
    if (Date.now() > deadline)
      throw new Error(`the replay was not delivered and acked in 20 s: ${JSON.stringify(info.delivered)}, ${info.num_ack_pending} unacked`);
  }
}

describe('Worker agent under a replay of its assignments', () => {
  it('starts no assignment stored long before the newest one it received, before and after a restart, and keeps working', async () => {
    const args = ['--isolation', 'none', '--slots', '2'];
    const worker = await harness.startWorker(args);
    const tasks = [shellTask('true'), shellTask('true'), shellTask('true')];
    for (const [i, task] of tasks.entries()) {
      if (i > 0) await pause(2_000); // more than the 1.5 s stale age, and the once-a-second save of what was seen
      await harness.order(worker.workerId, task);
      await harness.observer.finished(task.taskId, 1, 30_000);
    }
    const [oldest, older, newest] = tasks.map((t) => t.taskId) as [string, string, string];

    await replay(worker.workerId, 3);
    // The two older ones are stale; the newest is the one finished attempt the agent remembers.
    expect([startsOf(oldest), startsOf(older), startsOf(newest)]).toEqual([1, 1, 1]);
    expect(worker.agent.log()).toMatch(/ignored 1 assignment\(s\) stored long before the newest one received/);

    // Restarted (its memory of finished attempts gone), the replay is the first thing it receives:
    // what it saw before is in its state dir, so the older ones are still stale. (The newest may
    // run again: the gap order-replay.ts names.)
    await worker.agent.kill();
    const restarted = harness.start(['--state-dir', worker.stateDir, ...args]);
    await eventually('the restarted agent online', () => (/online at/.test(restarted.log()) ? true : undefined));
    await replay(worker.workerId, 3);
    expect([startsOf(oldest), startsOf(older)]).toEqual([1, 1]);
    expect(restarted.log()).toMatch(/ignored 1 assignment\(s\) stored long before the newest one received/);

    // Still at work: a new assignment runs.
    const fresh = shellTask('true');
    await harness.order(worker.workerId, fresh);
    expect((await harness.observer.finished(fresh.taskId, 1, 30_000)).outcome).toBe('succeeded');
  }, 120_000);
});
