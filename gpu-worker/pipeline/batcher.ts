/** How a submitted item fared: its result, how many shared its run, how long it queued. */
export interface BatchOutcome<O> {
  result: O;
  batchSize: number;
  queueMs: number;
}

export interface BatcherOptions {
  /** Most items per run (1 turns batching off, e.g. for static-batch models). */
  maxBatchSize: number;
  /** How long the first item of a batch waits for more before the run starts anyway. */
  maxWaitMs: number;
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
 * device is free. An idle batcher waits at most `maxWaitMs` for company.
 * @example const b = new InferenceBatcher((xs) => infer(xs), { maxBatchSize: 4, maxWaitMs: 10 }); await b.submit(x)
 */
export class InferenceBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

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
    if (this.running) return; // the run in flight starts the next batch when it ends
    if (this.queue.length >= this.options.maxBatchSize || this.options.maxWaitMs === 0 || this.options.maxBatchSize === 1) {
      this.flush();
    } else {
      this.timer ??= setTimeout(() => this.flush(), this.options.maxWaitMs);
    }
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
