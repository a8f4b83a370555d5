// Learning-rate schedules: a multiplier of the base rate as a function of the step.
import { ConfigError } from "../errors.js";

export type ScheduleName = "constant" | "linear" | "cosine";

export interface ScheduleOptions {
  /** Steps over which linear and cosine decay to finalFactor. */
  totalSteps: number;
  /** The multiplier reached at totalSteps; default 0. */
  finalFactor?: number;
}

export const schedules = {
  constant: () => () => 1,
  linear:
    ({ totalSteps, finalFactor = 0 }: ScheduleOptions) =>
    (step: number) =>
      1 - (1 - finalFactor) * Math.min(step / totalSteps, 1),
  cosine:
    ({ totalSteps, finalFactor = 0 }: ScheduleOptions) =>
    (step: number) =>
      finalFactor + (1 - finalFactor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(step / totalSteps, 1))),
} satisfies Record<ScheduleName, (o: ScheduleOptions) => (step: number) => number>;

/** Sets an optimizer's lr to base * factor(step) at each step. */
export class LRScheduler {
  readonly factor: (step: number) => number;
  constructor(
    readonly optimizer: { lr: number },
    readonly baseLr: number,
    name: ScheduleName,
    options: ScheduleOptions,
  ) {
    const make = schedules[name];
    if (!make) throw new ConfigError([{ path: "schedule", message: `unknown schedule '${name}': expected ${Object.keys(schedules).join(", ")}` }]);
    if (name !== "constant" && !(options.totalSteps > 0)) {
      throw new ConfigError([{ path: "schedule.totalSteps", message: "must be a positive number of steps" }]);
    }
    this.factor = make(options);
  }
  /** Applies the rate for `step` (0-based), times `scale` (after rollbacks), and returns it. */
  apply(step: number, scale = 1): number {
    return (this.optimizer.lr = this.baseLr * scale * this.factor(step));
  }
}
