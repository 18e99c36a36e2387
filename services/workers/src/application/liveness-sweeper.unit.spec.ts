import { mayJudgeSilence } from './liveness-sweeper';

describe('LivenessSweeper', () => {
  describe('when it has just started (the service restarted: heartbeats sent meanwhile reached no one)', () => {
    it('declares nobody offline before it has listened for a whole offlineAfterMs', () => {
      expect(mayJudgeSilence(1_000 + 14_999, 1_000, 15_000)).toBe(false);
    });

    it('judges silence once it has listened that long', () => {
      expect(mayJudgeSilence(1_000 + 15_000, 1_000, 15_000)).toBe(true);
    });
  });
});
