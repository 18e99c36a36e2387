import { isUuid, newId } from './ids';
import { apiTokenPattern } from '../auth/api-tokens';
import { refreshTokenPattern } from '../auth/auth.http';
import { registrationTokenPattern, workerCredentialPattern } from '../workers/worker-registration.schemas';

const secret = 'A'.repeat(43);
// 36 characters of hex digits and dashes that Postgres' uuid type refuses.
const notUuids = ['-'.repeat(36), 'a'.repeat(36), '0000000-00000-0000-0000-0000000000000', '00000000-0000-0000-0000-00000000000-'];

describe('ids in tokens', () => {
  it('accepts a new id and refuses 36-character strings that are not UUIDs', () => {
    expect(isUuid(newId())).toBe(true);
    for (const s of notUuids) expect({ s, ok: isUuid(s) }).toEqual({ s, ok: false });
  });

  it.each([
    ['API token', apiTokenPattern, 'ayt_'],
    ['registration token', registrationTokenPattern, 'ayr_'],
    ['worker credential', workerCredentialPattern, 'ayw_'],
    ['refresh token', refreshTokenPattern, ''],
  ])('a %s must carry a real UUID', (_name, pattern, prefix) => {
    expect(pattern.test(`${prefix}${newId()}.${secret}`)).toBe(true);
    for (const s of notUuids) expect(pattern.test(`${prefix}${s}.${secret}`)).toBe(false);
  });
});
