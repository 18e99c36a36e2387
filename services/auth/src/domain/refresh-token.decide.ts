/*
 * Refresh-token rotation with reuse detection (OAuth 2.1 §4.14 style). Each login starts a
 * family; each refresh marks the presented token used and issues its child. Presenting a token
 * that was already used means two parties hold it — the legitimate client and a thief — and we
 * cannot tell which, so the whole family is revoked and the caller gets 401.
 * Pure: the repository loads the records, this decides, the handler applies. Tested in
 * refresh-token.decide.unit.spec.ts and end to end in test/auth.int.spec.ts.
 */
export interface RefreshTokenRecord {
  id: string;
  familyId: string;
  userId: string;
  expiresAt: Date;
  usedAt: Date | null;
}

export interface RefreshFamilyRecord {
  id: string;
  revokedAt: Date | null;
}

export type RefreshDecision =
  | { kind: 'rotate'; userId: string; familyId: string; tokenId: string }
  | { kind: 'reuse-detected'; userId: string; familyId: string }
  | { kind: 'reject'; reason: 'unknown' | 'expired' | 'revoked' | 'bad-secret' };

export interface RefreshInput {
  token: RefreshTokenRecord | undefined;
  family: RefreshFamilyRecord | undefined;
  secretMatches: boolean;
  now: Date;
}

/** Decides what presenting a refresh token leads to. */
export function decideRefresh({ token, family, secretMatches, now }: RefreshInput): RefreshDecision {
  if (!token || !family) return { kind: 'reject', reason: 'unknown' };
  // A wrong secret for a real id is a guess, not a reuse: do not let guessing revoke families.
  if (!secretMatches) return { kind: 'reject', reason: 'bad-secret' };
  if (family.revokedAt) return { kind: 'reject', reason: 'revoked' };
  if (token.usedAt) return { kind: 'reuse-detected', userId: token.userId, familyId: token.familyId };
  if (token.expiresAt.getTime() <= now.getTime()) return { kind: 'reject', reason: 'expired' };
  return { kind: 'rotate', userId: token.userId, familyId: token.familyId, tokenId: token.id };
}
