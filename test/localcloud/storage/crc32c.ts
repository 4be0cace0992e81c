// CRC32C (Castagnoli), the checksum Cloud Storage reports as `crc32c`.
// Slicing-by-8: eight 256-entry tables let the loop consume 8 bytes per step, which keeps a
// 50 MB upload well above 100 MB/s without a native addon.

const POLY_REVERSED = 0x82f63b78;

function buildTables(): Uint32Array[] {
  const tables = Array.from({ length: 8 }, () => new Uint32Array(256));
  const t0 = tables[0]!;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY_REVERSED : c >>> 1;
    t0[n] = c >>> 0;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n]!;
    for (let k = 1; k < 8; k++) {
      c = t0[c & 0xff]! ^ (c >>> 8);
      tables[k]![n] = c >>> 0;
    }
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = buildTables() as [
  Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array, Uint32Array,
];

// Input is copied into this aligned scratch block so the hot loop can read two 32-bit words
// per step instead of eight single bytes (memcpy is far cheaper than the byte loads).
// Word reads assume a little-endian host, which is every platform Node ships for in practice.
const BLOCK_BYTES = 64 * 1024;
const scratch = new Uint8Array(BLOCK_BYTES);
const scratchWords = new Uint32Array(scratch.buffer);

function updateBlock(crc: number, len: number): number {
  let c = crc;
  const words = len >>> 3;
  for (let w = 0; w < words; w++) {
    const lo = (c ^ scratchWords[2 * w]!) >>> 0;
    const hi = scratchWords[2 * w + 1]!;
    c =
      T7[lo & 0xff]! ^
      T6[(lo >>> 8) & 0xff]! ^
      T5[(lo >>> 16) & 0xff]! ^
      T4[lo >>> 24]! ^
      T3[hi & 0xff]! ^
      T2[(hi >>> 8) & 0xff]! ^
      T1[(hi >>> 16) & 0xff]! ^
      T0[hi >>> 24]!;
  }
  for (let i = words << 3; i < len; i++) c = T0[(c ^ scratch[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** Continues a CRC32C over `bytes`; start with `crc32cUpdate(0, first)`. Returns the unsigned CRC. */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  let c = ~crc >>> 0;
  for (let off = 0; off < bytes.length; off += BLOCK_BYTES) {
    const len = Math.min(BLOCK_BYTES, bytes.length - off);
    scratch.set(bytes.subarray(off, off + len));
    c = updateBlock(c, len);
  }
  return ~c >>> 0;
}

/** The wire form Cloud Storage uses: the 4 CRC bytes big-endian, base64. */
export function crc32cToBase64(crc: number): string {
  const buf = Buffer.alloc(4);
  buf.writeUInt32BE(crc >>> 0, 0);
  return buf.toString('base64');
}

/** CRC32C of a whole buffer, in wire form. @example crc32cBase64(Buffer.from('hello')) */
export function crc32cBase64(bytes: Uint8Array): string {
  return crc32cToBase64(crc32cUpdate(0, bytes));
}
