/**
 * Promise.all that lets every promise finish (or fail) before rejecting with the first
 * failure, so no native encode is still writing into memory the caller is about to drop or
 * reuse, and no storage copy lands after the caller moved on.
 * @example const outs = await settleAll(kinds.map((k) => encode(k)))
 */
export async function settleAll<T>(promises: readonly Promise<T>[]): Promise<T[]> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<T>).value);
}
