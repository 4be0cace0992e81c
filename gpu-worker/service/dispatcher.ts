import { FifoGate } from '../../shared/fifo-gate.js';
import type { JobHandler } from './job-handler.js';
import type { Delivery, Verdict } from './ports.js';

interface InFlight {
  work: Promise<Verdict>;
  abandon: () => void;
}

/**
 * The one gate between the consumers (pull or push) and the job handler: runs at most
 * `maxConcurrent` jobs at once (later deliveries wait their turn, in order), counts jobs
 * in flight and, on shutdown, refuses new ones, nacks the waiting ones, waits for the
 * running ones up to a grace period and then answers `nack` for those still running so
 * Pub/Sub redelivers them elsewhere. An abandoned job may still finish in the background;
 * every step of the handler is idempotent, so a redelivered copy racing it is harmless.
 *
 * The limit is ours, not only the Pub/Sub client's flow control: the client stops counting
 * a message once its lease extension runs out (`maxExtensionTime` from receipt), and a
 * deep backlog delivered at once (the emulator ignores server-side flow control) made
 * every such message free a slot while its job still ran: 4 jobs in flight became 23,
 * and worker RSS grew to 6.7 GB over a 300-job backlog.
 */
export class Dispatcher {
  private readonly inFlight = new Set<InFlight>();
  /** Slots: running jobs plus slots handed to a waiting delivery that has not started yet. */
  private readonly slots: FifoGate;
  private draining = false;

  constructor(
    private readonly handler: JobHandler,
    private readonly onCountChange: (count: number) => void = () => {},
    maxConcurrent = Number.POSITIVE_INFINITY,
  ) {
    if (!(maxConcurrent >= 1)) throw new Error(`maxConcurrent must be at least 1, got ${maxConcurrent}`);
    this.slots = new FifoGate(maxConcurrent);
  }

  get size(): number {
    return this.inFlight.size;
  }

  /** Deliveries waiting for a free slot. */
  get queued(): number {
    return this.slots.queued;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  dispatch(delivery: Delivery): Promise<Verdict> {
    if (this.draining) return Promise.resolve('nack');
    if (this.slots.tryAcquire()) return this.run(delivery);
    // A finishing job hands its slot over, so nothing can overtake. If shutdown begins while
    // it waits, it never started: Pub/Sub gets it back at once.
    return this.slots.acquire().then((go) => (go ? this.run(delivery) : 'nack'));
  }

  private run(delivery: Delivery): Promise<Verdict> {
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
      // To the next waiting delivery (none start while draining: the gate is closed), else freed.
      this.slots.release();
    });
    return Promise.race([settled, abandoned]);
  }

  /** Stop taking jobs; resolve once all in-flight jobs ended or `graceMs` passed (the rest are nacked). */
  async drain(graceMs: number): Promise<{ finished: number; abandoned: number }> {
    this.draining = true;
    this.slots.close();
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
