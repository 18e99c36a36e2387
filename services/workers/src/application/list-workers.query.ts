import { Injectable } from '@nestjs/common';
import type { WorkerView } from '@agentyard/contracts';
import { WorkerViewRepository } from '../infrastructure/worker-view.repository';
import { toWorkerView } from './worker-view';

/** The workers the actor holds a role on, each with that role; newest registration first. */
@Injectable()
export class ListWorkersQuery {
  constructor(private readonly views: WorkerViewRepository) {}

  async execute(actorId: string): Promise<{ items: WorkerView[] }> {
    return { items: (await this.views.listForUser(actorId)).map(toWorkerView) };
  }
}
