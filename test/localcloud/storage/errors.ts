// One error type for the emulator, rendered in the two shapes Cloud Storage uses:
// the JSON API envelope and the XML API `<Error>` document (signed URLs speak XML).

export class GcsError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
    /** XML API error code (`SignatureDoesNotMatch`, `ExpiredToken`, ...). */
    readonly xmlCode: string = reason,
  ) {
    super(message);
    this.name = 'GcsError';
  }
}

export const badRequest = (message: string, reason = 'invalid'): GcsError => new GcsError(400, reason, message);
export const forbidden = (message: string, xmlCode = 'AccessDenied'): GcsError => new GcsError(403, 'forbidden', message, xmlCode);
export const notFound = (message: string, xmlCode = 'NoSuchKey'): GcsError => new GcsError(404, 'notFound', message, xmlCode);
export const preconditionFailed = (message = 'At least one of the pre-conditions you specified did not hold.'): GcsError =>
  new GcsError(412, 'conditionNotMet', message, 'PreconditionFailed');
export const conflict = (message: string): GcsError => new GcsError(409, 'conflict', message);

/** Anything thrown by a handler that is not a GcsError is our bug: report it as 500, never crash. */
export function toGcsError(err: unknown): GcsError {
  if (err instanceof GcsError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GcsError(500, 'backendError', message, 'InternalError');
}

/** `{"error":{"code","message","errors":[{"domain","reason","message"}]}}` as the JSON API sends. */
export function jsonErrorBody(err: GcsError): string {
  return JSON.stringify({
    error: { code: err.status, message: err.message, errors: [{ domain: 'global', reason: err.reason, message: err.message }] },
  });
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ESCAPES[c] ?? c);
}

/** `<Error><Code>..</Code><Message>..</Message></Error>` as the XML API sends. */
export function xmlErrorBody(err: GcsError): string {
  return `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${xmlEscape(err.xmlCode)}</Code><Message>${xmlEscape(err.message)}</Message></Error>`;
}
