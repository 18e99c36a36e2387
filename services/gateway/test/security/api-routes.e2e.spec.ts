/*
 * The security suite's HTTP half on one platform: every route of the OpenAPI document against
 * every principal (route-matrix.checks.ts), then fuzzed (fuzz.checks.ts). One platform for both,
 * because starting one costs as much as a third of the checks. Its login limit is raised (the
 * limits have their own checks) and its workers never go offline on their own (that event would
 * look like a refused request's write to the fuzzer).
 */
import { describeFuzzing } from './fuzz.checks';
import { describeRouteMatrix } from './route-matrix.checks';
import { startSecurityPlatform, type SecurityPlatform } from './security-platform';

let sp: SecurityPlatform;

beforeAll(async () => {
  sp = await startSecurityPlatform({
    auth: { LOGIN_MAX_ATTEMPTS_PER_IP: '1000000' },
    workers: { OFFLINE_AFTER_MS: '3600000' },
  });
}, 120_000);

afterAll(async () => {
  await sp?.stop();
});

describeRouteMatrix(() => sp);
describeFuzzing(() => sp);
