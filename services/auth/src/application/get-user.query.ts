import { Injectable } from '@nestjs/common';
import { DomainError, type User } from '@agentyard/contracts';
import { UserRepository } from '../infrastructure/user.repository';
import { toUserView } from './user-view';

@Injectable()
export class GetUserQuery {
  constructor(private readonly users: UserRepository) {}

  async execute(userId: string): Promise<User> {
    const row = await this.users.findById(userId);
    if (!row) throw new DomainError('NOT_FOUND', 'no such user');
    return toUserView(row);
  }
}
