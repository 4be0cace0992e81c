/**
 * A first-come, first-served limit on concurrent work, with hand-off: a freed slot passes
 * straight to the next in line, so a newcomer never overtakes someone waiting. Closing it
 * refuses everyone waiting and every later request (a shutdown drain), while slots already
 * held stay held until released.
 *
 * The worker's dispatcher admits jobs through one; the image pipeline renders (alpha at
 * full size, refinement, encoding: the CPU-heavy part of a job) through another, so jobs
 * that finished inference together leave one after another instead of all at the end.
 * @example const gate = new FifoGate(2); const out = await gate.run(() => render(job))
 */
export class FifoGate {
  private active = 0;
  private closed = false;
  private readonly waiting: Array<(admitted: boolean) => void> = [];

  /** `limit`: a whole number >= 1, or Infinity for no limit. */
  constructor(readonly limit: number) {
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isInteger(limit) && limit >= 1))) throw new Error(`FifoGate limit must be a whole number >= 1, got ${limit}`);
  }

  /** Slots held, and requests waiting for one. */
  get running(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Takes a slot now if one is free and nobody waits; false otherwise (or when closed). */
  tryAcquire(): boolean {
    if (this.closed || this.active >= this.limit) return false;
    this.active++;
    return true;
  }

  /** Resolves true once a slot is held, in call order; false if the gate closes first. */
  acquire(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.tryAcquire()) return Promise.resolve(true);
    return new Promise<boolean>((admit) => this.waiting.push(admit));
  }

  /** Gives a held slot back: to the next in line if any (and not closed), else frees it. */
  release(): void {
    const next = this.closed ? undefined : this.waiting.shift();
    if (next) next(true);
    else this.active--;
  }

  /** Refuses everyone waiting and every later request; held slots stay until released. */
  close(): void {
    this.closed = true;
    for (const refuse of this.waiting.splice(0)) refuse(false);
  }

  /** Runs `work` holding a slot, freed however it ends. Rejects when the gate is closed. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    if (!(await this.acquire())) throw new Error('the gate is closed');
    try {
      return await work();
    } finally {
      this.release();
    }
  }
}
