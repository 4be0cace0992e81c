/** How a submitted item fared: its result, how many shared its run, how long it queued. */
export interface BatchOutcome<O> {
  result: O;
  batchSize: number;
  queueMs: number;
}

export interface BatcherOptions {
  /** Most items per run (1 turns batching off, e.g. for static-batch models). */
  maxBatchSize: number;
  /** How long the first item of a batch waits for announced items before the run starts anyway. */
  maxWaitMs: number;
}

/** An item announced before it exists (its image is still decoding), see `expect`. */
export interface BatchTicket<I, O> {
  /** Submit the announced item; a ticket counts once, whichever of this and `cancel` comes first. */
  submit(item: I): Promise<BatchOutcome<O>>;
  /** The item will not come (its job failed first); a no-op after `submit`. */
  cancel(): void;
}

interface Pending<I, O> {
  item: I;
  enqueued: number;
  resolve: (outcome: BatchOutcome<O>) => void;
  reject: (err: unknown) => void;
}

/**
 * Groups concurrent submissions into one `run` call: runs are serial (one inference uses
 * the whole device), so while one runs, the next batch fills up and starts the moment the
 * device is free. An idle batcher waits for company only when company is on its way: items
 * announced with `expect` (jobs still decoding), for at most `maxWaitMs`. With nobody
 * announced it runs on the next turn of the event loop, so a lone job never pays the wait
 * (10 ms by default: a fifth of a GPU inference) and items submitted together still share a run.
 * @example const t = b.expect(); const x = await preprocess(image); await t.submit(x)
 */
export class InferenceBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private closed = false;
  /** Announced items not yet submitted or cancelled. */
  private expected = 0;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
    private readonly now: () => number = () => performance.now(),
  ) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) throw new Error(`Expected positive integer for maxBatchSize but received ${options.maxBatchSize}`);
    if (!(options.maxWaitMs >= 0)) throw new Error(`Expected non-negative number for maxWaitMs but received ${options.maxWaitMs}`);
  }

  submit(item: I): Promise<BatchOutcome<O>> {
    if (this.closed) return Promise.reject(new Error('batcher is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ item, enqueued: this.now(), resolve, reject });
      this.schedule();
    });
  }

  /**
   * Announce an item that will be submitted soon, so a batch waiting to start waits for it
   * (up to `maxWaitMs`). Every ticket must end in `submit` or `cancel`.
   */
  expect(): BatchTicket<I, O> {
    this.expected++;
    let open = true;
    /** True the first time only. */
    const settle = (): boolean => {
      if (!open) return false;
      open = false;
      this.expected--;
      return true;
    };
    return {
      submit: (item) => {
        settle();
        return this.submit(item);
      },
      cancel: () => {
        if (settle()) this.schedule();
      },
    };
  }

  /** Items waiting for a run (not counting the one in flight). */
  get pending(): number {
    return this.queue.length;
  }

  /** Stop accepting; the queued and running batches still finish. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.running || this.queue.length > 0) {
      if (!this.running) this.flush();
      await this.running;
    }
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return; // the run in flight starts the next batch when it ends
    if (this.queue.length >= this.options.maxBatchSize || this.options.maxWaitMs === 0 || this.options.maxBatchSize === 1) {
      this.flush();
      return;
    }
    // Waiting for announced items, at most maxWaitMs from the oldest queued; with none on
    // the way, only for the rest of this turn (submissions made together join).
    const oldest = this.queue[0]!.enqueued;
    const wait = this.expected === 0 ? 0 : Math.max(0, this.options.maxWaitMs - (this.now() - oldest));
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.running || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatchSize);
    this.running = this.execute(batch).finally(() => {
      this.running = undefined;
      // Whatever queued meanwhile has waited long enough: go again at once.
      if (this.queue.length > 0) this.flush();
    });
  }

  private async execute(batch: Pending<I, O>[]): Promise<void> {
    const started = this.now();
    try {
      const results = await this.run(batch.map((p) => p.item));
      if (results.length !== batch.length) throw new Error(`batch run returned ${results.length} results for ${batch.length} items`);
      batch.forEach((p, i) => p.resolve({ result: results[i]!, batchSize: batch.length, queueMs: started - p.enqueued }));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }
}
