// A streaming reader for `multipart/related` uploads (metadata part + media part). The media
// part goes straight to a sink; only a delimiter-sized tail is held back between chunks,
// so memory stays flat for any object size.
import { badRequest } from './errors.js';
import { parseJsonObject } from './http-util.js';

// The metadata part and the part headers are small; a bigger preamble is a malformed body.
const MAX_HEAD_BYTES = 2 * 1024 * 1024;
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');

export function boundaryOf(contentType: string | undefined): string {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = m?.[1] ?? m?.[2];
  if (!/^multipart\/related/i.test(contentType ?? '') || !boundary) {
    throw badRequest('Multipart upload requires a multipart/related Content-Type with a boundary.', 'invalidArgument');
  }
  return boundary;
}

function parsePartHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export interface MultipartResult {
  metadata: Record<string, unknown>;
  mediaContentType?: string;
}

type Phase = 'preamble' | 'metaHeaders' | 'metaBody' | 'mediaHeaders' | 'media' | 'done';

/**
 * Reads `body`, returns the parsed metadata part and hands the media bytes to `write`.
 * A body that ends before the closing delimiter is a 400 (truncated upload).
 */
export async function readMultipart(
  body: AsyncIterable<Buffer>,
  boundary: string,
  write: (chunk: Buffer) => Promise<void>,
): Promise<MultipartResult> {
  const opening = Buffer.from(`--${boundary}`);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let phase = 'preamble' as Phase;
  let buf: Buffer = Buffer.alloc(0);
  let metadata: Record<string, unknown> = {};
  let mediaContentType: string | undefined;

  const step = async (): Promise<boolean> => {
    switch (phase) {
      case 'preamble': {
        const at = buf.indexOf(opening);
        if (at < 0 || buf.length < at + opening.length + 2) return false;
        if (!buf.subarray(at + opening.length, at + opening.length + 2).equals(CRLF)) throw badRequest('Malformed multipart body.');
        buf = buf.subarray(at + opening.length + 2);
        phase = 'metaHeaders';
        return true;
      }
      case 'metaHeaders':
      case 'mediaHeaders': {
        const at = buf.indexOf(HEADER_END);
        // A part with no headers starts directly with the blank line.
        const emptyHeaders = buf.subarray(0, 2).equals(CRLF);
        if (at < 0 && !emptyHeaders) return false;
        const headerText = emptyHeaders ? '' : buf.subarray(0, at).toString('latin1');
        buf = buf.subarray(emptyHeaders ? 2 : at + HEADER_END.length);
        const headers = parsePartHeaders(headerText);
        if (phase === 'mediaHeaders') mediaContentType = headers['content-type'];
        phase = phase === 'metaHeaders' ? 'metaBody' : 'media';
        return true;
      }
      case 'metaBody': {
        const at = buf.indexOf(delimiter);
        if (at < 0 || buf.length < at + delimiter.length + 2) return false;
        metadata = parseJsonObject(buf.subarray(0, at).toString('utf8'));
        const after = buf.subarray(at + delimiter.length, at + delimiter.length + 2);
        if (!after.equals(CRLF)) throw badRequest('Multipart upload has no media part.', 'wrongUrlForUpload');
        buf = buf.subarray(at + delimiter.length + 2);
        phase = 'mediaHeaders';
        return true;
      }
      case 'media': {
        const at = buf.indexOf(delimiter);
        if (at >= 0) {
          if (at > 0) await write(buf.subarray(0, at));
          buf = Buffer.alloc(0);
          phase = 'done';
          return false;
        }
        // Keep a tail that could hold the start of the delimiter; the rest is media. Slices are
        // passed on without copying: no buffer here is ever written to after it is created.
        const safe = buf.length - (delimiter.length - 1);
        if (safe > 0) {
          await write(buf.subarray(0, safe));
          buf = buf.subarray(safe);
        }
        return false;
      }
      case 'done':
        return false;
    }
  };

  for await (const chunk of body) {
    if (phase === 'done') continue; // epilogue after the closing delimiter is ignored
    buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
    while (await step());
    if (!(['media', 'done'] as Phase[]).includes(phase) && buf.length > MAX_HEAD_BYTES) throw badRequest('Multipart metadata part is too large.');
  }
  if (phase !== 'done') throw badRequest('Multipart body ended before its closing delimiter (truncated upload).');
  return { metadata, mediaContentType };
}
