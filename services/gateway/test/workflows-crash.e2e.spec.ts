/*
 * A workflow run survives `kill -9` of the workflows service and of the tasks service mid-run:
 * the run finishes and no node ran twice — counted where the work happens (each node's process
 * appends its id to a marker file on the worker's machine), not from events.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunView, WorkerView, WorkflowView } from '@agentyard/contracts';
import { startPlatform, type Platform, type PlatformService } from '@agentyard/local-infra';
import { ApiClient, eventually } from './support/api-client';

let platform: Platform;
let alice: { client: ApiClient; userId: string; token: string };
const markers = mkdtempSync(join(tmpdir(), 'agentyard-markers-'));

/** Ten nodes, two chains of five: each appends its id to the marker file, then takes a moment. */
function definition(file: string): Record<string, unknown> {
  const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5'];
  return {
    name: 'count me once',
    kind: 'graph',
    nodes: ids.map((id) => ({ id, type: 'task', task: { tool: 'shell', input: { command: `echo {{node.id}} >> ${file}; sleep 0.7` } } })),
    edges: [...['a', 'b'].flatMap((chain) => [1, 2, 3, 4].map((i) => ({ from: `${chain}${i}`, to: `${chain}${i + 1}` })))],
  };
}

beforeAll(async () => {
  platform = await startPlatform({
    env: {
      workers: { OFFLINE_AFTER_MS: '4000', SWEEP_INTERVAL_MS: '500', HEARTBEAT_INTERVAL_MS: '1000' },
      tasks: { TIMEOUT_SCAN_INTERVAL_MS: '500' },
    },
  });
  const api = new ApiClient(platform.url);
  alice = await api.signUp('alice');
  for (const name of ['crash-a', 'crash-b']) {
    const token = (await alice.client.post<{ token: string }>('/api/v1/workers/registration-tokens', { uses: 1 })).body.token;
    // The owner's own workers, unisolated, so a task can append to a file outside its directory.
    platform.startWorker({ token, name, slots: 2, extraArgs: ['--isolation', 'none'] });
  }
  await eventually('two workers online', async () => {
    const res = await alice.client.get<{ items: WorkerView[] }>('/api/v1/workers');
    return res.body.items.filter((w) => w.status === 'online').length === 2 ? true : undefined;
  });
}, 180_000);

afterAll(async () => {
  await platform?.stop();
});

async function crashMidRun(service: PlatformService): Promise<void> {
  const file = join(markers, `${service}.txt`);
  const wf = (await alice.client.post<WorkflowView>('/api/v1/workflows', definition(file))).body;
  const run = (await alice.client.post<RunView>(`/api/v1/workflows/${wf.id}/execute`, {})).body;
  await eventually(
    'a few nodes done',
    async () => {
      const r = (await alice.client.get<RunView>(`/api/v1/runs/${run.id}`)).body;
      return Object.values(r.nodes).filter((n) => n.status === 'succeeded').length >= 3 ? r : undefined;
    },
    60_000,
    50,
  );
  await platform.service(service).kill();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  await platform.restart(service);
  const done = await eventually(
    'the run finished',
    async () => {
      const r = await alice.client.get<RunView>(`/api/v1/runs/${run.id}`);
      return r.status === 200 && ['succeeded', 'failed', 'cancelled', 'timed_out'].includes(r.body.status) ? r.body : undefined;
    },
    120_000,
    200,
  );
  expect(done.status).toBe('succeeded');
  // Where the work happened: every node's process ran exactly once.
  const lines = readFileSync(file, 'utf8').trim().split('\n').sort();
  expect(lines).toEqual(['a1', 'a2', 'a3', 'a4', 'a5', 'b1', 'b2', 'b3', 'b4', 'b5']);
  // And the run's history agrees: one task per node.
  expect(Object.values(done.nodes).map((n) => n.history.length)).toEqual(Array(10).fill(1));
}

// Each waits up to 60 s for progress and 120 s for the end: the test's own budget covers both.
describe('A workflow run under kill -9', () => {
  it('of the workflows service finishes with every node run exactly once', async () => {
    await crashMidRun('workflows');
  }, 240_000);

  it('of the tasks service finishes with every node run exactly once', async () => {
    await crashMidRun('tasks');
  }, 240_000);
});
