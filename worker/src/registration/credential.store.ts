/*
 * `<state-dir>/worker.json`: the credentials this machine received, one entry per platform URL.
 * The credential is a secret shown only once by the platform, so the file is written 0600 (the
 * directory 0700) through a temp file and rename: a crash mid-write never leaves half a secret.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { workerRegistrationSchema } from '@agentyard/contracts/agent';

export const storedRegistrationSchema = workerRegistrationSchema.extend({
  url: z.string(),
  name: z.string(),
  registeredAt: z.string(),
  /**
   * `ayr_<id>` of the registration token used (never its secret): a later `start` with that same
   * token is a restart, any other token is refused (token-reuse.ts). Absent in older files.
   */
  tokenId: z.string().optional(),
});
export type StoredRegistration = z.infer<typeof storedRegistrationSchema>;

const fileSchema = z.object({ version: z.literal(1), registrations: z.array(storedRegistrationSchema) });
type CredentialFile = z.infer<typeof fileSchema>;

export class CredentialStore {
  readonly path: string;

  constructor(readonly stateDir: string) {
    this.path = join(stateDir, 'worker.json');
  }

  /** The stored registration for `url` (normalised base URL), if any. */
  find(url: string): StoredRegistration | undefined {
    return this.read().registrations.find((r) => r.url === url);
  }

  /** Every stored registration (doctor uses it when no URL is given). */
  all(): StoredRegistration[] {
    return this.read().registrations;
  }

  /** Stores (or replaces) the registration for its URL. */
  save(registration: StoredRegistration): void {
    const file = this.read();
    const registrations = file.registrations.filter((r) => r.url !== registration.url).concat(registration);
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify({ version: 1, registrations } satisfies CredentialFile, null, 2)}\n`, { mode: 0o600 });
    // writeFileSync's mode only applies when it creates the file, and the umask may narrow it: be explicit.
    chmodSync(tmp, 0o600);
    renameSync(tmp, this.path);
  }

  private read(): CredentialFile {
    if (!existsSync(this.path)) return { version: 1, registrations: [] };
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(this.path, 'utf8'));
    } catch {
      json = undefined;
    }
    const parsed = fileSchema.safeParse(json);
    if (!parsed.success) throw new Error(`${this.path} is not a worker credentials file; move it away to register again`);
    return parsed.data;
  }
}
