/**
 * The job: its states, who moves it between them, and every form it takes on the way
 * (status document, JobMessage, completion event). Start reading here.
 *
 * One job's life
 * 1. `createUpload` (functions/create-upload.ts) picks a job id and signs a PUT for
 *    `uploads/{jobId}/original`; a batch drop (`batch/...`) gets an id derived from its
 *    bucket, name and generation. Nothing is written yet. (`jobForObject`, object-names.ts)
 * 2. The object lands; `onObjectFinalized` (functions/finalize.ts) validates it and creates
 *    the status document `gs://RESULTS/jobs/{jobId}/status.json` (shared/status-store.ts),
 *    create-only, in one of two states:
 *    - `queued`, then publishes the JobMessage (`jobMessageFor`, `encodeJobMessage`);
 *    - `rejected` (bad image), then publishes the completion event (`completionMessageFor`).
 * 3. The worker (gpu-worker/service/job-handler.ts) reads the message (`readJobMessage`) and
 *    claims the job: queued -> `processing` (`toProcessing`, compare-and-swap). A redelivery
 *    claims it again (processing -> processing, one more attempt). As soon as the preview is
 *    written the document carries it, still `processing` (`withPreview`), so a shop page can
 *    show the cut-out while the full-size outputs are encoded.
 * 4. The worker ends it and publishes its completion event:
 *    - `succeeded` (`toSucceeded`), with the outputs and the quality verdict (score, flags);
 *    - `failed` (`toFailed`) for a permanent error, with its code.
 *    A retryable error is nacked instead: Pub/Sub redelivers, back to step 3.
 * 5. After the subscription's last attempt Pub/Sub dead-letters the message, and
 *    `onDeadLetter` (functions/dead-letter.ts) ends the job `failed` with `dead_lettered`.
 * 6. An operator may reopen a dead-lettered job once its cause is fixed: `scripts/replay.ts`
 *    moves failed -> `queued` (`reopen`) and publishes its JobMessage again: back to step 3.
 * `getStatus` (functions/get-status.ts) only reads the document.
 *
 * Rules that hold throughout
 * - Every move goes through the transition table (states.ts) and a compare-and-swap, so a
 *   late or repeated writer can never undo an ending (`isTerminal`).
 * - Every ending has exactly one writer, which also publishes its completion event
 *   (`endingWriter`): the worker for `succeeded` and its own `failed` codes, the functions
 *   for `rejected` and `dead_lettered`.
 * - A job follows the newest generation of its upload (a browser may PUT its signed URL
 *   twice): a newer generation's finalize event takes a running job over (`toNewerSource`),
 *   an older one is a no-op, and every move made for one generation's message is made only
 *   while the document still names it (`forGeneration`). An ended job ignores later PUTs.
 *   See generations.ts.
 * - A message the worker cannot read is the worker's alone: it fails the job the message
 *   names with `invalid_message`, or, when no job can record it, puts the message on the
 *   dead-letter topic marked as its own (`deadLetterAttributes`), which onDeadLetter leaves
 *   for a person. onDeadLetter fails only what Pub/Sub itself gave up on.
 */
export { canMove, INITIAL_STATES, isTerminal, NEXT_STATES, type JobState } from './states.js';
export {
  DEAD_LETTERED,
  endingWriter,
  failedFromMessage,
  newStatus,
  queuedFromMessage,
  reopen,
  toFailed,
  toProcessing,
  toSucceeded,
  wasReopened,
  withPreview,
  type NewStatusFields,
  type SuccessDetails,
} from './document.js';
export {
  DEAD_LETTER_REASON_ATTRIBUTE,
  deadLetterAttributes,
  deadLetteredByWorker,
  encodeJobMessage,
  jobIdOfMessage,
  jobMessageFor,
  readJobMessage,
  type ReadJobMessage,
} from './message.js';
export { completionDataFor, completionMessageFor } from './event.js';
export { jobForObject, type Trigger } from './object-names.js';
export { compareGenerations, forGeneration, generationStanding, supersededBy, toNewerSource } from './generations.js';
