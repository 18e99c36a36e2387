import { v7 as uuidv7 } from 'uuid';

/** A new time-ordered id (UUID v7): sortable by creation time, unique without coordination. */
export function newId(): string {
  return uuidv7();
}
