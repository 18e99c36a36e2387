import { Inject, Injectable } from '@nestjs/common';
import type { WorkerView } from '@agentyard/contracts';
import { WorkerViewRepository } from '../infrastructure/worker-view.repository';
import { WORKERS_SETTINGS, type WorkersSettings } from './request-context';
import { toWorkerView } from './worker-view';

/** The workers the actor holds a role on, each with that role; newest registration first. */
@Injectable()
export class ListWorkersQuery {
  constructor(
    private readonly views: WorkerViewRepository,
    @Inject(WORKERS_SETTINGS) private readonly settings: WorkersSettings,
  ) {}

  async execute(actorId: string): Promise<{ items: WorkerView[] }> {
    const platformVersion = this.settings.agentPackage.current()?.version;
    return { items: (await this.views.listForUser(actorId)).map((record) => toWorkerView(record, platformVersion)) };
  }
}
