/**
 * The gate in front of task creation (create-admission.decide.ts says why): counts the creates in
 * flight, times each answer, and refuses the one over the limit with 429 before it costs the
 * tasks service anything.
 */
import { Inject, Injectable } from '@nestjs/common';
import { DomainError } from '@agentyard/contracts';
import { afterAnswer, initialAdmission, mayAdmit, type AdmissionSettings, type AdmissionState } from './create-admission.decide';

export const CREATE_ADMISSION_SETTINGS = Symbol('CREATE_ADMISSION_SETTINGS');

@Injectable()
export class CreateAdmission {
  private state: AdmissionState;

  constructor(@Inject(CREATE_ADMISSION_SETTINGS) private readonly settings: AdmissionSettings) {
    this.state = initialAdmission(settings);
  }

  /** Runs `create` if the limit allows, else throws RATE_LIMITED (429, Retry-After: 1). */
  async run<T>(create: () => Promise<T>): Promise<T> {
    if (!mayAdmit(this.state)) {
      throw new DomainError(
        'RATE_LIMITED',
        `the platform is busy: ${this.state.inFlight} task creations are in progress, the most it takes at once now; retry in a second`,
        { limit: 'createsInFlight', inFlight: this.state.inFlight, retryAfterSeconds: 1 },
      );
    }
    this.state = { ...this.state, inFlight: this.state.inFlight + 1 };
    const started = performance.now();
    try {
      return await create();
    } finally {
      const now = performance.now();
      this.state = afterAnswer({ ...this.state, inFlight: this.state.inFlight - 1 }, now - started, now, this.settings);
    }
  }

  /** The current limit and load (for metrics and tests). */
  snapshot(): Readonly<AdmissionState> {
    return this.state;
  }
}
