/*
 * OWASP ASVS 5.0 (V6.2.4): a new password is checked against a list of commonly used passwords.
 * The list is zxcvbn-ts' `passwords-common` dictionary (@zxcvbn-ts/language-common, pinned): about
 * 49,000 passwords from breach corpora ordered by frequency, MIT-licensed and maintained with the
 * zxcvbn-ts estimator (2M downloads a month), rather than a copy of our own that nobody updates.
 * Only entries our policy would accept (≥ 8 characters) can matter; about 18,000 of them, held as
 * a Set of lower-cased entries (~1.5 MB), loaded on first use. The comparison ignores case:
 * `Password1` is as guessable as `password1`.
 */
import { dictionary } from '@zxcvbn-ts/language-common';
import { DomainError } from '@agentyard/contracts';

let common: Set<string> | undefined;

/** True when `password` (any case) is on the list of common passwords. */
export function isCommonPassword(password: string, minLength = 8): boolean {
  common ??= new Set(dictionary['passwords-common'].filter((p) => p.length >= minLength).map((p) => p.toLowerCase()));
  return common.has(password.toLowerCase());
}

/** Throws a 400 naming `field` when the password is a common one. */
export function refuseCommonPassword(password: string, field: string): void {
  if (!isCommonPassword(password)) return;
  const message = 'is one of the most common passwords, which attackers try first; choose another';
  throw new DomainError('VALIDATION_FAILED', `${field} ${message}`, [{ field, message }]);
}
