// Validation of client-supplied object metadata (upload metadata, PATCH bodies, copy
// overrides): only the writable fields are taken, with their types checked.
import { badRequest } from './errors.js';
import type { ObjectAttrs, ObjectMeta } from './types.js';

const STRING_FIELDS = ['contentType', 'contentEncoding', 'contentDisposition', 'contentLanguage', 'cacheControl', 'customTime'] as const;

function readMetadataMap(value: unknown, allowNull: boolean): Record<string, string | null> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest('Invalid value for metadata: expected an object.');
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === null && allowNull) out[k] = null;
    else if (v !== null && v !== undefined) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** Writable attributes from an upload's or copy's metadata JSON. */
export function readAttrs(body: Record<string, unknown>): ObjectAttrs {
  const attrs: ObjectAttrs = {};
  for (const field of STRING_FIELDS) {
    const v = body[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') throw badRequest(`Invalid value for ${field}: expected a string.`);
    attrs[field] = v;
  }
  const metadata = readMetadataMap(body['metadata'], false);
  if (metadata) attrs.metadata = metadata as Record<string, string>;
  return attrs;
}

/** PATCH semantics: given fields replace, `null` clears, metadata keys merge (`null` deletes a key). */
export function applyPatch(live: ObjectMeta, body: Record<string, unknown>): ObjectAttrs {
  const next: ObjectAttrs = {};
  for (const field of STRING_FIELDS) {
    if (!(field in body)) continue;
    const v = body[field];
    if (v === null) next[field] = undefined;
    else if (typeof v === 'string') next[field] = v;
    else throw badRequest(`Invalid value for ${field}: expected a string.`);
  }
  if ('metadata' in body) {
    const patch = readMetadataMap(body['metadata'], true);
    if (body['metadata'] === null) next.metadata = {};
    else {
      const merged: Record<string, string> = { ...(live.metadata ?? {}) };
      for (const [k, v] of Object.entries(patch ?? {})) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      next.metadata = merged;
    }
  }
  return next;
}
