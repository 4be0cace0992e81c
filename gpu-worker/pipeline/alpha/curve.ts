/**
 * The response curve as a table over the 256 alpha levels: at or below `low` -> 0, at or
 * above `high` -> 255, linear between. Why: a salient-object map hedges (0.8 where the
 * subject is certain but the texture unusual, 0.1 over a busy background), and a shop print
 * needs the subject solid and the background gone; the soft middle is kept for real
 * partial coverage (fur tips), and only in the boundary band (see `decisiveAlpha`).
 * @example const lut = responseCurve(26, 217); lut[217] // 255
 */
export function responseCurve(low: number, high: number): Uint8Array {
  if (!(low < high)) throw new Error(`response curve needs low < high, got ${low} and ${high}`);
  const lut = new Uint8Array(256);
  for (let v = 0; v < 256; v++) lut[v] = v <= low ? 0 : v >= high ? 255 : Math.round((255 * (v - low)) / (high - low));
  return lut;
}
