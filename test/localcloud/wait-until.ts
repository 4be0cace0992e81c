/**
 * Waiting on something that a listener fills in as messages arrive: the listener keeps a set of
 * waiters and calls each one after every arrival; `waitUntil` registers one that settles the
 * promise as soon as `probe` returns a value, or rejects with `timeoutMessage()` after
 * `timeoutMs`. Used by the completion listener and the Eventarc bridge.
 *
 * @example
 *   const event = await waitUntil(this.waiters, () => this.forJob(jobId)[0], 5000, () => 'no event');
 */
export function waitUntil<T>(waiters: Set<() => void>, probe: () => T | undefined, timeoutMs: number, timeoutMessage: () => string): Promise<T> {
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const found = probe();
      if (found === undefined) return;
      cleanup();
      resolve(found);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(timeoutMessage()));
    }, timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      waiters.delete(check);
    };
    waiters.add(check);
    check();
  });
}
