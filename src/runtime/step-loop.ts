/**
 * When the run loop takes its steps. Steps run as microtasks so tasks that
 * finish without I/O (the inline executor) chain without a trip through the
 * event loop; every {@link MICRO_STEPS} steps one goes through `setImmediate`
 * so timers and I/O still get their turn. A "tick" (flush of the log and the
 * observers' `onStep`) happens once per event-loop turn.
 */

/** Consecutive microtask steps before one goes through the event loop. */
export const MICRO_STEPS = 512;

export class StepLoop {
  #stepQueued = false;
  #tickQueued = false;
  #microSteps = 0;

  constructor(
    private readonly step: () => void,
    private readonly tick: () => void,
  ) {}

  /** Asks for a step (one, however often it is asked before it runs), and a tick in this turn. */
  pump(): void {
    if (this.#stepQueued) return;
    this.#stepQueued = true;
    if (++this.#microSteps < MICRO_STEPS) queueMicrotask(this.#runStep);
    else {
      this.#microSteps = 0;
      setImmediate(this.#runStep);
    }
    if (!this.#tickQueued) {
      this.#tickQueued = true;
      setImmediate(this.#runTick);
    }
  }

  // Bound once: no closure per step.
  readonly #runStep = (): void => {
    this.#stepQueued = false;
    this.step();
  };

  readonly #runTick = (): void => {
    this.#tickQueued = false;
    this.#microSteps = 0;
    this.tick();
  };
}
