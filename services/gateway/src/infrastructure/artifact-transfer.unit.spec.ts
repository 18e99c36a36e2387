import { commitTimeoutMs } from './artifact-transfer';

describe('an artifact commit’s timeout', () => {
  it('is 5 s for a small upload, grows 1 s per MiB, and stops at 60 s', () => {
    expect(commitTimeoutMs(40_000)).toBe(6_000);
    expect(commitTimeoutMs(0)).toBe(5_000);
    expect(commitTimeoutMs(10 * (1 << 20))).toBe(15_000);
    expect(commitTimeoutMs(64 * (1 << 20))).toBe(60_000);
  });
});
