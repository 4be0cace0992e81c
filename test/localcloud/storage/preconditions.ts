// Preconditions are pure checks of the live object against query parameters; the store calls
// them while holding the object's lock so check-then-write cannot race.
import { badRequest, preconditionFailed } from './errors.js';
import type { ObjectMeta, Preconditions } from './types.js';

const NAMES = ['ifGenerationMatch', 'ifGenerationNotMatch', 'ifMetagenerationMatch', 'ifMetagenerationNotMatch'] as const;

/** Reads the four precondition parameters; a value that is not a non-negative integer is a 400. */
export function parsePreconditions(query: URLSearchParams, prefix = ''): Preconditions {
  const out: Preconditions = {};
  for (const name of NAMES) {
    const key = prefix ? prefix + name.slice(2) : name;
    const raw = query.get(key);
    if (raw === null) continue;
    if (!/^\d{1,19}$/.test(raw)) throw badRequest(`Invalid argument for ${key}: '${raw}' is not a non-negative integer.`);
    out[name] = Number(raw);
  }
  return out;
}

/** Throws 412 unless `live` (undefined when the object does not exist) satisfies `pre`. */
export function checkPreconditions(live: ObjectMeta | undefined, pre: Preconditions): void {
  const gen = live ? Number(live.generation) : 0;
  if (pre.ifGenerationMatch !== undefined && pre.ifGenerationMatch !== gen) throw preconditionFailed();
  // ifGenerationNotMatch=0 means "the object must exist".
  if (pre.ifGenerationNotMatch !== undefined && pre.ifGenerationNotMatch === gen) throw preconditionFailed();
  if (pre.ifMetagenerationMatch !== undefined && (!live || Number(live.metageneration) !== pre.ifMetagenerationMatch)) {
    throw preconditionFailed();
  }
  if (pre.ifMetagenerationNotMatch !== undefined && live && Number(live.metageneration) === pre.ifMetagenerationNotMatch) {
    throw preconditionFailed();
  }
}
