/*
 * NATS subject wildcards, evaluated client-side. The server already filters what a subscription
 * or a consumer receives; we need the same rules again to route one delivered message to the
 * `@EventPattern` handlers whose pattern covers its subject, and to warn at boot about a pattern
 * no consumer can ever deliver. Rules (as the server applies them): tokens are split on `.`,
 * `*` matches exactly one token, `>` matches one or more trailing tokens and must come last.
 * Tested in subject-match.unit.spec.ts.
 */

/** Throws when `pattern` is not a valid NATS subject or wildcard pattern. */
export function assertSubjectPattern(pattern: string): void {
  const tokens = pattern.split('.');
  tokens.forEach((token, i) => {
    if (token === '' || /\s/.test(token)) throw new Error(`invalid subject pattern ${JSON.stringify(pattern)}: empty token or whitespace`);
    if (token === '>' && i !== tokens.length - 1) throw new Error(`invalid subject pattern ${JSON.stringify(pattern)}: '>' must be the last token`);
    if (token.length > 1 && /[*>]/.test(token)) throw new Error(`invalid subject pattern ${JSON.stringify(pattern)}: wildcards must be whole tokens`);
  });
}

/** True when the concrete `subject` is matched by `pattern` (which may hold `*` and `>`). */
export function subjectMatches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const token = p[i];
    if (token === '>') return s.length > i;
    if (i >= s.length) return false;
    if (token !== '*' && token !== s[i]) return false;
  }
  return p.length === s.length;
}

/** True when some concrete subject is matched by both patterns. */
export function subjectsOverlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; ; i++) {
    const tx = x[i];
    const ty = y[i];
    if (tx === undefined || ty === undefined) return tx === ty;
    // `>` needs at least one token on the other side, which exists here (ty / tx is defined).
    if (tx === '>' || ty === '>') return true;
    if (tx !== '*' && ty !== '*' && tx !== ty) return false;
  }
}
