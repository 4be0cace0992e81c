/**
 * Log event names, one scheme for every deployable: `<subject>.<what>`, lower snake case.
 * - `job.<state>` whenever a job moves (`job.queued`, `job.rejected`, `job.processing`,
 *   `job.succeeded`, `job.failed` with its `code`), whoever moves it, so one filter on
 *   `jsonPayload.event=~"^job\."` and a job id shows a job's whole life across services;
 *   `job.<what>` for anything else that happens to one job in the worker.
 * - `<component>.<what>` for the rest, the component being the handler or part that logs
 *   (`finalize`, `deadletter`, `upload`, `status`, `model`, `pull`, `shutdown`, ...).
 * Each deployable lists its names once (functions/log-events.ts, gpu-worker/log-events.ts)
 * through `logEvents`, which builds each name from its group and key, so a name cannot drift
 * from the scheme, and a typo is a type error rather than a silent new event.
 */

export type LogEventCatalogue<T extends Record<string, readonly string[]>> = {
  readonly [G in keyof T & string]: { readonly [E in T[G][number]]: `${G}.${E}` };
};

const PART = /^[a-z][a-z0-9_]*$/;

/**
 * @example logEvents({ job: ['queued'] }).job.queued === 'job.queued'
 */
export function logEvents<const T extends Record<string, readonly string[]>>(groups: T): LogEventCatalogue<T> {
  const catalogue: Record<string, Record<string, string>> = {};
  for (const [group, names] of Object.entries(groups)) {
    catalogue[group] = {};
    for (const name of names) {
      if (!PART.test(group) || !PART.test(name)) throw new Error(`log event ${group}.${name} breaks the scheme <subject>.<what> in lower snake case`);
      catalogue[group][name] = `${group}.${name}`;
    }
  }
  return catalogue as LogEventCatalogue<T>;
}
