import type { JobHandler } from './job-handler.js';
import type { Delivery, Verdict } from './ports.js';

interface InFlight {
  work: Promise<Verdict>;
  abandon: () => void;
}

/**
 * The one gate between the consumers (pull or push) and the job handler: counts jobs in
 * flight and, on shutdown, refuses new ones, waits for the running ones up to a grace
 * period and then answers `nack` for those still running so Pub/Sub redelivers them
 * elsewhere. An abandoned job may still finish in the background; every step of the
 * handler is idempotent, so a redelivered copy racing it is harmless.
 */
export class Dispatcher {
  private readonly inFlight = new Set<InFlight>();
  private draining = false;

  constructor(
    private readonly handler: JobHandler,
    private readonly onCountChange: (count: number) => void = () => {},
  ) {}

  get size(): number {
    return this.inFlight.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  dispatch(delivery: Delivery): Promise<Verdict> {
    if (this.draining) return Promise.resolve('nack');
    let abandon: () => void = () => {};
    const abandoned = new Promise<Verdict>((resolve) => (abandon = () => resolve('nack')));
    // The handler never rejects by contract; a bug that breaks that still only nacks.
    const work = this.handler(delivery).catch((): Verdict => 'nack');
    const entry: InFlight = { work, abandon };
    this.inFlight.add(entry);
    this.onCountChange(this.inFlight.size);
    const settled = work.finally(() => {
      this.inFlight.delete(entry);
      this.onCountChange(this.inFlight.size);
    });
    return Promise.race([settled, abandoned]);
  }

  /** Stop taking jobs; resolve once all in-flight jobs ended or `graceMs` passed (the rest are nacked). */
  async drain(graceMs: number): Promise<{ finished: number; abandoned: number }> {
    this.draining = true;
    const running = [...this.inFlight];
    if (running.length === 0) return { finished: 0, abandoned: 0 };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([Promise.allSettled(running.map((r) => r.work)).then(() => undefined), timeout]);
    clearTimeout(timer);
    const left = running.filter((r) => this.inFlight.has(r));
    for (const r of left) r.abandon();
    return { finished: running.length - left.length, abandoned: left.length };
  }
}
