/*
 * The security suite's other half on one platform with real worker agents: what each socket is
 * sent, what a worker can do with its NATS user and its tasks (live-events.checks.ts), and the
 * login limits and session ending (login-and-sessions.checks.ts). Workers are declared offline
 * within seconds and timeouts scanned often, so the scenario can lose a worker and time a task
 * out quickly; auth keeps its default login limits.
 */
import { describeLiveEvents } from './live-events.checks';
import { describeLoginAndSessions } from './login-and-sessions.checks';
import { startSecurityPlatform, type SecurityPlatform } from './security-platform';

let sp: SecurityPlatform;

beforeAll(async () => {
  sp = await startSecurityPlatform({
    workers: { OFFLINE_AFTER_MS: '3000', SWEEP_INTERVAL_MS: '300', HEARTBEAT_INTERVAL_MS: '1000' },
    tasks: { TIMEOUT_SCAN_INTERVAL_MS: '300' },
  });
}, 120_000);

afterAll(async () => {
  await sp?.stop();
});

describeLiveEvents(() => sp);
describeLoginAndSessions(() => sp);
