import type { User } from '@agentyard/contracts';
import type { UserRow } from '../infrastructure/user.repository';

/** The public shape of a user: never the hash. */
export function toUserView(row: UserRow): User {
  return { id: row.id, username: row.username, email: row.email, createdAt: row.created_at.toISOString() };
}
