/**
 * Chamfer (3-4) distance, in pixels, from every pixel to the nearest pixel where `mask` is
 * `target`, capped at `cap` (the band widths here are a few pixels, so a cap keeps it in
 * 16 bits and makes the cost two plain passes). Pixels that are `target` themselves are 0.
 * @example const d = distanceTo(mask, 1024, 1024, 0, 8) // inside pixels: steps to the background
 */
export function distanceTo(mask: Uint8Array, width: number, height: number, target: 0 | 1, cap: number): Float32Array {
  const n = width * height;
  const far = Math.min(65535, Math.ceil(cap * 3) + 4);
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = mask[i] === target ? 0 : far;
  // Forward pass: left, up-left, up, up-right; backward: right, down-right, down, down-left.
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      let v = d[i]!;
      if (v === 0) continue;
      if (x > 0 && d[i - 1]! + 3 < v) v = d[i - 1]! + 3;
      if (y > 0) {
        const u = i - width;
        if (d[u]! + 3 < v) v = d[u]! + 3;
        if (x > 0 && d[u - 1]! + 4 < v) v = d[u - 1]! + 4;
        if (x < width - 1 && d[u + 1]! + 4 < v) v = d[u + 1]! + 4;
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1, i = y * width + x; x >= 0; x--, i--) {
      let v = d[i]!;
      if (v === 0) continue;
      if (x < width - 1 && d[i + 1]! + 3 < v) v = d[i + 1]! + 3;
      if (y < height - 1) {
        const b = i + width;
        if (d[b]! + 3 < v) v = d[b]! + 3;
        if (x < width - 1 && d[b + 1]! + 4 < v) v = d[b + 1]! + 4;
        if (x > 0 && d[b - 1]! + 4 < v) v = d[b - 1]! + 4;
      }
      d[i] = v;
    }
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.min(cap, d[i]! / 3);
  return out;
}
