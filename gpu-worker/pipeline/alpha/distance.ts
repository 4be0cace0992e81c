/**
 * Chamfer (3-4) distance, in pixels, from every pixel to the nearest pixel where `mask` is
 * `target`, capped at `cap` (the band widths here are a few pixels, so a cap keeps it in
 * 16 bits and makes the cost two plain passes). Pixels that are `target` themselves are 0.
 * One side of `distanceAcross`, the other side set to 0.
 * @example const d = distanceTo(mask, 1024, 1024, 0, 8) // inside pixels: steps to the background
 */
export function distanceTo(mask: Uint8Array, width: number, height: number, target: 0 | 1, cap: number): Float32Array {
  const d = distanceAcross(mask, width, height, cap, cap);
  for (let i = 0; i < d.length; i++) if (mask[i] === target) d[i] = 0;
  return d;
}

/**
 * Chamfer (3-4) distance across the mask's edge, both ways in one pair of passes: at a pixel
 * where `mask` is 1, the distance to the nearest 0 (capped at `capIn`); where it is 0, the
 * distance to the nearest 1 (capped at `capOut`). A neighbour of the other side counts as 0.
 * Why both at once: the decisive alpha needs both, and one pass over the map costs less than two.
 * Forward pass: left, up-left, up, up-right; backward: right, down-right, down, down-left.
 * @example const d = distanceAcross(mask, 1024, 1024, 4, 6) // d[i] > 3: deeper than 3 px
 */
export function distanceAcross(mask: Uint8Array, width: number, height: number, capIn: number, capOut: number): Float32Array {
  const n = width * height;
  const farIn = Math.min(65535, Math.ceil(capIn * 3) + 4);
  const farOut = Math.min(65535, Math.ceil(capOut * 3) + 4);
  const d = new Uint16Array(n);
  for (let i = 0; i < n; i++) d[i] = mask[i] ? farIn : farOut;
  // A neighbour's distance as seen from side `m`: its own on the same side, 0 across.
  for (let y = 0; y < height; y++) {
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const m = mask[i];
      let v = d[i]!;
      if (x > 0) {
        const w = (mask[i - 1] === m ? d[i - 1]! : 0) + 3;
        if (w < v) v = w;
      }
      if (y > 0) {
        const u = i - width;
        const w = (mask[u] === m ? d[u]! : 0) + 3;
        if (w < v) v = w;
        if (x > 0) {
          const wl = (mask[u - 1] === m ? d[u - 1]! : 0) + 4;
          if (wl < v) v = wl;
        }
        if (x < width - 1) {
          const wr = (mask[u + 1] === m ? d[u + 1]! : 0) + 4;
          if (wr < v) v = wr;
        }
      }
      d[i] = v;
    }
  }
  for (let y = height - 1; y >= 0; y--) {
    for (let x = width - 1, i = y * width + x; x >= 0; x--, i--) {
      const m = mask[i];
      let v = d[i]!;
      if (x < width - 1) {
        const w = (mask[i + 1] === m ? d[i + 1]! : 0) + 3;
        if (w < v) v = w;
      }
      if (y < height - 1) {
        const b = i + width;
        const w = (mask[b] === m ? d[b]! : 0) + 3;
        if (w < v) v = w;
        if (x < width - 1) {
          const wr = (mask[b + 1] === m ? d[b + 1]! : 0) + 4;
          if (wr < v) v = wr;
        }
        if (x > 0) {
          const wl = (mask[b - 1] === m ? d[b - 1]! : 0) + 4;
          if (wl < v) v = wl;
        }
      }
      d[i] = v;
    }
  }
  const inside = new Float32Array(farIn + 1);
  for (let v = 0; v <= farIn; v++) inside[v] = Math.min(capIn, v / 3);
  const outside = new Float32Array(farOut + 1);
  for (let v = 0; v <= farOut; v++) outside[v] = Math.min(capOut, v / 3);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = mask[i] ? inside[d[i]!]! : outside[d[i]!]!;
  return out;
}
