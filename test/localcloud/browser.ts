/**
 * What a shopper's browser does: ask createUpload for a signed URL, PUT the photo straight
 * to Storage with exactly the returned headers, then poll getStatus.
 */
import { UploadTicket } from '../../schemas/upload.js';
import { StatusResponse } from '../../schemas/status.js';
import type { OutputKind } from '../../schemas/common.js';

export interface UploadResult {
  jobId: string;
  /** Date.now() right after the signed PUT answered. */
  putDoneAt: number;
  putStatus: number;
}

export async function uploadLikeABrowser(
  createUploadUrl: string,
  bytes: Buffer,
  contentType: string,
  options: { outputs?: OutputKind[]; clientRef?: string; origin?: string } = {},
): Promise<UploadResult> {
  const res = await fetch(new URL('uploads', createUploadUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.origin ? { origin: options.origin } : {}) },
    body: JSON.stringify({ contentType, contentLength: bytes.length, ...(options.outputs ? { outputs: options.outputs } : {}), ...(options.clientRef ? { clientRef: options.clientRef } : {}) }),
  });
  if (res.status !== 201) throw new Error(`createUpload answered ${res.status}: ${await res.text()}`);
  const ticket = UploadTicket.parse(await res.json());
  const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body: bytes });
  const putDoneAt = Date.now();
  if (!put.ok) throw new Error(`signed PUT answered ${put.status}: ${await put.text()}`);
  return { jobId: ticket.jobId, putDoneAt, putStatus: put.status };
}

export async function getStatus(getStatusUrl: string, jobId: string): Promise<StatusResponse | undefined> {
  const res = await fetch(new URL(`jobs/${jobId}`, getStatusUrl));
  // 202 received: the upload is there, its status document not yet; 404: neither.
  if (res.status === 202 || res.status === 404) return undefined;
  if (!res.ok) throw new Error(`getStatus answered ${res.status}: ${await res.text()}`);
  return StatusResponse.parse(await res.json());
}

const TERMINAL = new Set(['succeeded', 'failed', 'rejected']);

/** Polls getStatus until the job is terminal, the way the storefront page does. */
export async function pollUntilTerminal(getStatusUrl: string, jobId: string, timeoutMs = 120_000, everyMs = 250): Promise<StatusResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await getStatus(getStatusUrl, jobId).catch(() => undefined);
    if (s && TERMINAL.has(s.state)) return s;
    if (Date.now() > deadline) throw new Error(`job ${jobId} not terminal after ${timeoutMs} ms (last: ${s?.state ?? 'no status'})`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
