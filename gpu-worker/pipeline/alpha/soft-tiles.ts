/**
 * The scaffolding the band's per-pixel steps share (alpha/colour.ts, alpha/colour-line.ts):
 * they visit the photo in tiles, skip the tiles without a soft pixel (0 < alpha < 255), and
 * build a summed-area table over each visited tile plus the window's radius, so their cost
 * follows the outline's length, not the photo's size. Only the scaffolding is here: what each
 * step sums and computes per pixel stays in its own loop (a callback per pixel costs more
 * than the sums, see colour-line.ts).
 */

/** The smallest tile side: a thin band on a large photo wastes little on tiles this size. */
const MIN_TILE = 64;

/**
 * The tile side for windows of `radius`: at least four radii, so building a tile's table (the
 * tile plus a radius all round) costs a few times the tile's own pixels, not tens of times (a
 * 64-px map enlarged 12 times to the preview has 48-px windows: a 64-px tile read 160 x 160
 * cells for 64 x 64 pixels). Outputs do not depend on it: each window is the same, clipped to
 * the photo, whatever tile it is read from.
 * @example tileFor(48) // 192
 */
export function tileFor(radius: number): number {
  return Math.max(MIN_TILE, 4 * radius);
}

/** A tile [x0, x1) x [y0, y1) and the region its windows read: `rw` x `rh` pixels from (rx0, ry0). */
export interface SoftTile {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  rx0: number;
  ry0: number;
  rw: number;
  rh: number;
}

/**
 * Calls `visit` for every `tile` x `tile` square of a `W` x `H` alpha that holds a soft pixel,
 * with the region its windows of `radius` read, clipped to the image.
 * @example forEachSoftTile(alpha, W, H, 8, 64, (t) => { ... t.rw, t.rh ... })
 */
export function forEachSoftTile(alpha: Uint8Array, W: number, H: number, radius: number, tile: number, visit: (t: SoftTile) => void): void {
  for (let y0 = 0; y0 < H; y0 += tile) {
    for (let x0 = 0; x0 < W; x0 += tile) {
      const x1 = Math.min(W, x0 + tile);
      const y1 = Math.min(H, y0 + tile);
      if (!hasSoft(alpha, W, x0, y0, x1, y1)) continue;
      const rx0 = Math.max(0, x0 - radius);
      const ry0 = Math.max(0, y0 - radius);
      visit({ x0, y0, x1, y1, rx0, ry0, rw: Math.min(W, x1 + radius) - rx0, rh: Math.min(H, y1 + radius) - ry0 });
    }
  }
}

/**
 * Whether the tile [x0, x1) x [y0, y1) holds a soft pixel (stops at the first). Most tiles of
 * a 12 MP photo are wholly opaque or clear and are read to the end, so rows are read four
 * bytes at a time where they are aligned: a word of 0 or 0xffffffff holds no soft pixel.
 */
export function hasSoft(alpha: Uint8Array, W: number, x0: number, y0: number, x1: number, y1: number): boolean {
  const words = (alpha.byteOffset & 3) === 0 ? new Uint32Array(alpha.buffer, alpha.byteOffset, alpha.length >> 2) : undefined;
  for (let y = y0; y < y1; y++) {
    let i = y * W + x0;
    const end = y * W + x1;
    if (words) {
      // Bytes up to the first aligned word, then whole words, then the rest byte by byte.
      for (; i < end && (i & 3) !== 0; i++) if (alpha[i] !== 0 && alpha[i] !== 255) return true;
      for (let w = i >> 2, wEnd = end >> 2; w < wEnd; w++, i += 4) {
        const v = words[w]!;
        if (v !== 0 && v !== 0xffffffff) {
          for (let k = i; k < i + 4; k++) if (alpha[k] !== 0 && alpha[k] !== 255) return true;
        }
      }
    }
    for (; i < end; i++) if (alpha[i] !== 0 && alpha[i] !== 255) return true;
  }
  return false;
}

/**
 * New values for pixels (index, packed 32-bit value), gathered while the tiles are visited and
 * written once every tile has read the old ones (a window reaches into the next tile).
 */
export class PixelWrites {
  index = new Uint32Array(1 << 16);
  value = new Uint32Array(1 << 16);
  count = 0;

  push(i: number, packed: number): void {
    if (this.count === this.index.length) {
      this.index = grow(this.index);
      this.value = grow(this.value);
    }
    this.index[this.count] = i;
    this.value[this.count++] = packed >>> 0;
  }
}

function grow(a: Uint32Array<ArrayBuffer>): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(a.length * 2);
  b.set(a);
  return b;
}
