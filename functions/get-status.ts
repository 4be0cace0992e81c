import { StatusReceived, StatusResponse } from '../schemas/status.js';
import { SCHEMA_VERSION } from '../schemas/common.js';
import { parseOrThrow } from '../schemas/parse.js';
import { isJobId } from '../shared/ids.js';
import { uploadObjectName } from '../shared/paths.js';
import type { Deps } from './deps.js';
import type { HttpHandler } from './create-upload.js';
import { applyCors, header, sendError, sendJson, type CorsPolicy } from './http.js';
import { EVENTS } from './log-events.js';

export interface GetStatusSettings {
  /** Where browsers PUT their photos: a job whose upload is there but has no document yet is `received`. */
  uploadsBucket: string;
  resultsBucket: string;
  downloadUrlTtlSeconds: number;
  allowedOrigins: readonly string[];
}

// `/jobs/{id}` at the end of whatever prefix the gateway or function URL adds.
const JOB_PATH = /(?:^|\/)jobs\/([^/]*)\/?$/;

/**
 * `GET /jobs/{jobId}`: the status document, plus signed download URLs for its outputs: the
 * preview while the job is still `processing`, every output once it succeeded.
 *
 * Between the end of the browser's PUT and onObjectFinalized creating the document (Storage's
 * event takes a moment) there is no document: if the upload is there, the answer is 202
 * `received` with Retry-After, so a page polling right after its PUT sees progress, not a
 * 404 (which browsers log as an error). 404 is left for a job that has neither.
 *
 * The ETag is the document's generation plus a time window of half the download URLs'
 * lifetime. URLs are minted per window, so a 304 never leaves a client holding URLs with
 * less than half their lifetime left; the window costs a queued job's poller one extra 200
 * per window. The generation is compared before the document is downloaded.
 */
export function getStatusHandler(deps: Pick<Deps, 'statusStore' | 'objects' | 'clock' | 'logger'>, settings: GetStatusSettings): HttpHandler {
  const cors: CorsPolicy = { allowedOrigins: settings.allowedOrigins, methods: ['GET', 'HEAD', 'OPTIONS'], requestHeaders: ['If-None-Match'], exposedHeaders: ['ETag', 'Retry-After'] };
  const windowMs = (settings.downloadUrlTtlSeconds * 1000) / 2;
  const log = deps.logger.child({ handler: 'getStatus' });

  /** No document: 202 while the upload waits for its finalize event, 404 when there is no upload either. */
  const answerWithoutDocument = async (res: Parameters<HttpHandler>[1], jobId: string): Promise<void> => {
    const upload = await deps.objects.liveGeneration(settings.uploadsBucket, uploadObjectName(jobId));
    if (upload === undefined) return sendError(res, 404, 'not_found', `no job ${jobId}`);
    res.set('Retry-After', '1');
    sendJson(res, 202, parseOrThrow(StatusReceived, 'StatusReceived', { schemaVersion: SCHEMA_VERSION, jobId, state: 'received', message: RECEIVED_MESSAGE }));
  };

  return async (req, res) => {
    if (applyCors(req, res, cors)) return;
    res.set('Cache-Control', 'no-store');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.set('Allow', 'GET, HEAD, OPTIONS');
      return sendError(res, 405, 'method_not_allowed', `use GET to read a job's status, not ${req.method}`);
    }
    const match = JOB_PATH.exec(req.path);
    if (!match) return sendError(res, 404, 'not_found', 'expected a path of the form /jobs/{jobId}');
    const jobId = safeDecode(match[1] ?? '');
    if (jobId === undefined || !isJobId(jobId)) {
      return sendError(res, 400, 'bad_request', 'jobId must be 32 lower-case hex digits', { fields: ['jobId'] });
    }

    const window = Math.floor(deps.clock.now().getTime() / windowMs);
    try {
      const head = await deps.statusStore.head(jobId);
      if (!head) return await answerWithoutDocument(res, jobId);
      const inm = header(req, 'if-none-match');
      if (inm !== undefined && etagMatches(inm, etagFor(head.generation, window))) {
        res.set('ETag', etagFor(head.generation, window));
        return void res.status(304).end();
      }
      const stored = await deps.statusStore.get(jobId);
      if (!stored) return await answerWithoutDocument(res, jobId);
      const { doc } = stored;
      let downloads: StatusResponse['downloads'];
      // A processing job's outputs are its preview alone, written before the full-size ones.
      if ((doc.state === 'succeeded' || doc.state === 'processing') && doc.outputs?.length) {
        const expiresAt = new Date((window + 2) * windowMs);
        downloads = {};
        for (const output of doc.outputs) {
          const url = await deps.objects.signedUrl({ bucket: output.bucket, name: output.name, method: 'GET', expiresAt });
          downloads[output.kind] = { url, expiresAt: expiresAt.toISOString() };
        }
      }
      const body = parseOrThrow(StatusResponse, 'StatusResponse', downloads ? { ...doc, downloads } : doc);
      res.set('ETag', etagFor(stored.generation, window));
      sendJson(res, 200, body);
    } catch (err) {
      log.error({ event: EVENTS.status.read_failed, jobId, err }, 'could not read the status document');
      res.set('Retry-After', '2');
      sendError(res, 503, 'unavailable', 'the job status cannot be read right now; try again shortly');
    }
  };
}

/** What a shop may show while the upload waits for validation. */
const RECEIVED_MESSAGE = 'The photo has arrived and is being checked.';

function etagFor(generation: string, window: number): string {
  return `"${generation}.${window}"`;
}

function etagMatches(ifNoneMatch: string, etag: string): boolean {
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}

function safeDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}
