/**
 * A first-come, first-served limit on concurrent work. The image pipeline renders (alpha
 * at full size, refinement, encoding: the CPU-heavy part of a job) through one, so jobs that
 * finished inference together leave one after another instead of all at the end: with four
 * 2.5 MP jobs on two cores, sharing the CPU four ways made every job wait for the slowest,
 * while in arrival order the first is done after a quarter of the time.
 * @example const gate = new FifoGate(2); const out = await gate.run(() => render(job))
 */
export class FifoGate {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`FifoGate limit must be a whole number >= 1, got ${limit}`);
  }

  /** Work currently admitted, and work waiting its turn. */
  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `work` once a slot is free, in call order; the slot is freed however it ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active < this.limit) this.active++;
    // A freed slot passes straight to the next in line (`active` stays), so nobody overtakes.
    else await new Promise<void>((admit) => this.waiting.push(admit));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}
