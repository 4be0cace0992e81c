import { z } from 'zod';
import { CompletionEvent } from './completion.js';
import { JobMessage } from './job.js';
import { JobStatus, StatusReceived, StatusResponse } from './status.js';
import { UploadLimits, UploadRequest, UploadTicket } from './upload.js';

/** Every contract that gets a checked-in JSON Schema, by file stem. */
export const CONTRACTS = {
  'upload-request': UploadRequest,
  'upload-ticket': UploadTicket,
  'upload-limits': UploadLimits,
  'job-message': JobMessage,
  'job-status': JobStatus,
  'status-response': StatusResponse,
  'status-received': StatusReceived,
  'completion-event': CompletionEvent,
} as const satisfies Record<string, z.ZodType>;
export type ContractName = keyof typeof CONTRACTS;

/** The JSON Schema text for one contract, exactly as checked in under schemas/json/. */
export function renderJsonSchema(name: ContractName): string {
  const schema = z.toJSONSchema(CONTRACTS[name], { io: 'input', unrepresentable: 'any' });
  const withId = { $id: `https://petcutout.dev/schemas/${name}.schema.json`, title: name, ...schema };
  return `${JSON.stringify(withId, null, 2)}\n`;
}
