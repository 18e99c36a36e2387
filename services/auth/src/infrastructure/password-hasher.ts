/** argon2id with OWASP's parameters (m=19 MiB, t=2, p=1): ~20 ms a hash on these machines. */
import { Injectable } from '@nestjs/common';
import { hash, verify } from '@node-rs/argon2';

// `Algorithm` is an ambient const enum (unusable under isolatedModules); 2 is its Argon2id.
const ARGON2ID = 2;
const params = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

@Injectable()
export class PasswordHasher {
  /** A hash of a password nobody has, verified when the user is unknown so timing does not tell. */
  private dummy: Promise<string> | undefined;

  hash(password: string): Promise<string> {
    return hash(password, params);
  }

  verify(hashed: string, password: string): Promise<boolean> {
    return verify(hashed, password).catch(() => false);
  }

  /** Spends the same time as a real verify, for unknown users. */
  async verifyDummy(password: string): Promise<false> {
    this.dummy ??= this.hash('not-a-real-password-' + Math.random());
    await this.verify(await this.dummy, password);
    return false;
  }
}
