import { decideRefresh, type RefreshFamilyRecord, type RefreshTokenRecord } from './refresh-token.decide';

const now = new Date('2026-11-28T12:00:00Z');
const token = (over: Partial<RefreshTokenRecord> = {}): RefreshTokenRecord => ({
  id: 't1',
  familyId: 'f1',
  userId: 'u1',
  expiresAt: new Date('2026-12-28T12:00:00Z'),
  usedAt: null,
  ...over,
});
const family = (over: Partial<RefreshFamilyRecord> = {}): RefreshFamilyRecord => ({ id: 'f1', revokedAt: null, ...over });

describe('Refresh token', () => {
  describe('when a fresh token of a live family is presented', () => {
    it('rotates it', () => {
      expect(decideRefresh({ token: token(), family: family(), secretMatches: true, now })).toEqual({
        kind: 'rotate',
        userId: 'u1',
        familyId: 'f1',
        tokenId: 't1',
      });
    });
  });

  describe('when an already rotated token is presented again', () => {
    it('detects reuse so the whole family can be revoked', () => {
      const decision = decideRefresh({ token: token({ usedAt: new Date('2026-11-28T11:00:00Z') }), family: family(), secretMatches: true, now });
      expect(decision).toEqual({ kind: 'reuse-detected', userId: 'u1', familyId: 'f1' });
    });
  });

  describe('when the family was revoked', () => {
    it('rejects even an unused token', () => {
      expect(decideRefresh({ token: token(), family: family({ revokedAt: now }), secretMatches: true, now })).toEqual({
        kind: 'reject',
        reason: 'revoked',
      });
    });
  });

  describe('when the token expired', () => {
    it('rejects it', () => {
      expect(decideRefresh({ token: token({ expiresAt: now }), family: family(), secretMatches: true, now })).toEqual({
        kind: 'reject',
        reason: 'expired',
      });
    });
  });

  describe('when the secret does not match a known id', () => {
    it('rejects without treating the guess as reuse', () => {
      const decision = decideRefresh({ token: token({ usedAt: now }), family: family(), secretMatches: false, now });
      expect(decision).toEqual({ kind: 'reject', reason: 'bad-secret' });
    });
  });

  describe('when the token is unknown', () => {
    it('rejects it', () => {
      expect(decideRefresh({ token: undefined, family: undefined, secretMatches: false, now })).toEqual({ kind: 'reject', reason: 'unknown' });
    });
  });
});
