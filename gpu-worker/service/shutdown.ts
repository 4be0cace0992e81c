import type { Logger } from '../../shared/logger.js';
import type { Dispatcher } from './dispatcher.js';
import type { Readiness } from './readiness.js';
import { EVENTS } from '../log-events.js';

export interface ShutdownDeps {
  log: Logger;
  readiness: Readiness;
  dispatcher: Dispatcher;
  graceMs: number;
  /** Stop taking messages (pull: close the streams); may resolve only after the drain. */
  stopConsuming: () => Promise<void>;
  /** Close the HTTP server once no push request is pending. */
  closeServer: () => Promise<void>;
  /** Release the model. */
  closePipeline: () => Promise<void>;
}

/**
 * SIGTERM: stop taking messages, let in-flight jobs finish within the grace period, nack
 * the rest, close everything. Runs once however many signals arrive.
 */
export class Shutdown {
  private running: Promise<void> | undefined;

  constructor(private readonly deps: ShutdownDeps) {}

  run(signal: string): Promise<void> {
    this.running ??= this.sequence(signal);
    return this.running;
  }

  private async sequence(signal: string): Promise<void> {
    const { log, dispatcher } = this.deps;
    log.info({ event: EVENTS.shutdown.start, signal, inFlight: dispatcher.size, graceMs: this.deps.graceMs }, 'shutting down');
    this.deps.readiness.draining();
    // Both at once: the drain refuses new jobs and waits; closing the streams stops new
    // deliveries and resolves once the held messages are acked or nacked.
    const [drained] = await Promise.all([dispatcher.drain(this.deps.graceMs), this.step('stop consuming', this.deps.stopConsuming)]);
    log.info({ event: EVENTS.shutdown.drained, ...drained }, `in-flight jobs: ${drained.finished} finished, ${drained.abandoned} nacked`);
    await this.step('close server', this.deps.closeServer);
    await this.step('close pipeline', this.deps.closePipeline);
    log.info({ event: EVENTS.shutdown.done }, 'shut down');
  }

  private async step(name: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      this.deps.log.warn({ event: EVENTS.shutdown.step_failed, step: name, err }, `shutdown: ${name} failed`);
    }
  }
}
