import { OUTPUT_KINDS, outputList, type OutputKind } from '../schemas/common.js';

/**
 * What createUpload passes to onObjectFinalized through the uploaded object itself:
 * signed `x-goog-meta-*` headers become custom metadata, so no extra write is needed and
 * the browser cannot change them without breaking the signature.
 */
export const OUTPUTS_META = 'petcutout-outputs';
export const CLIENT_REF_META = 'petcutout-client-ref';

export function outputsFrom(metadata: Record<string, string> | undefined): OutputKind[] {
  const raw = metadata?.[OUTPUTS_META];
  if (raw === undefined) return [...OUTPUT_KINDS];
  const parsed = outputList.safeParse(raw.split(',').map((s) => s.trim()));
  return parsed.success ? parsed.data : [...OUTPUT_KINDS];
}

export function clientRefFrom(metadata: Record<string, string> | undefined): string | undefined {
  const raw = metadata?.[CLIENT_REF_META];
  if (raw === undefined) return undefined;
  try {
    const value = decodeURIComponent(raw);
    return value.length >= 1 && value.length <= 128 ? value : undefined;
  } catch {
    return undefined;
  }
}
