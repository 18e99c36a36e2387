import { uploadAllowance, type ArtifactQuota } from './artifact-quota';

const quota: ArtifactQuota = { maxArtifactBytes: 64, maxArtifactsPerAttempt: 3, maxAttemptBytes: 100 };

describe('An attempt’s artifact quota', () => {
  describe('when the attempt has room', () => {
    it('allows the upload up to the smaller of the per-artifact and the remaining attempt bytes', () => {
      expect(uploadAllowance([{ name: 'a', bytes: 50 }], 'b', 10, quota)).toEqual({ allowed: true, maxBytes: 50 });
      expect(uploadAllowance([], 'b', undefined, quota)).toEqual({ allowed: true, maxBytes: 64 });
    });

    it('does not count the artifact a new upload of the same name replaces', () => {
      expect(
        uploadAllowance(
          [
            { name: 'log', bytes: 60 },
            { name: 'a', bytes: 30 },
          ],
          'log',
          64,
          quota,
        ),
      ).toEqual({ allowed: true, maxBytes: 64 });
    });
  });

  describe('when the upload does not fit', () => {
    it('refuses an artifact over the per-artifact limit with 413', () => {
      expect(uploadAllowance([], 'big', 65, quota)).toMatchObject({ allowed: false, code: 'PAYLOAD_TOO_LARGE', details: { maxArtifactBytes: 64, bytes: 65 } });
    });

    it('refuses one that would take the attempt over its total with 413', () => {
      expect(uploadAllowance([{ name: 'a', bytes: 60 }], 'b', 41, quota)).toMatchObject({
        allowed: false,
        code: 'PAYLOAD_TOO_LARGE',
        details: { usedBytes: 60, bytes: 41 },
      });
    });

    it('refuses a new name once the attempt holds the most artifacts, with 409', () => {
      const full = [
        { name: 'a', bytes: 1 },
        { name: 'b', bytes: 1 },
        { name: 'c', bytes: 1 },
      ];
      expect(uploadAllowance(full, 'd', 1, quota)).toMatchObject({ allowed: false, code: 'CONFLICT' });
      expect(uploadAllowance(full, 'c', 1, quota)).toEqual({ allowed: true, maxBytes: 64 });
    });
  });
});
