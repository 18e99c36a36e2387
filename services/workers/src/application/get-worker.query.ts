import { Inject, Injectable } from '@nestjs/common';
import type { WorkerView } from '@agentyard/contracts';
import { WorkerViewRepository } from '../infrastructure/worker-view.repository';
import { WORKERS_SETTINGS, type WorkersSettings } from './request-context';
import { toWorkerView, workerNotFound } from './worker-view';

/** One worker, if the actor holds a role on it; 404 otherwise (existence does not leak). */
@Injectable()
export class GetWorkerQuery {
  constructor(
    private readonly views: WorkerViewRepository,
    @Inject(WORKERS_SETTINGS) private readonly settings: WorkersSettings,
  ) {}

  async execute(actorId: string, workerId: string): Promise<WorkerView> {
    const record = await this.views.findForUser(workerId, actorId);
    if (!record) throw workerNotFound(workerId);
    return toWorkerView(record, this.settings.agentPackage.current()?.version);
  }
}
