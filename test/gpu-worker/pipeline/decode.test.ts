import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../../gpu-worker/pipeline/decode.js';
import { PermanentError, type PermanentCode } from '../../../shared/errors.js';

const PHOTOS = 'test/fixtures/photos';
const cat = readFileSync(`${PHOTOS}/skimage-chelsea-cat.png`); // 451x300
const squirrel = readFileSync(`${PHOTOS}/opencv-squirrel_cls.jpg`); // 535x426
const LIMIT = { limitInputPixels: 64_000_000 };

async function animatedWebp(): Promise<Buffer> {
  const frame = (v: number): Promise<Buffer> => sharp(Buffer.alloc(16 * 16 * 3, v), { raw: { width: 16, height: 16, channels: 3 } }).png().toBuffer();
  return sharp([await frame(0), await frame(200)], { join: { animated: true } }).webp({ loop: 0, delay: [100, 100] }).toBuffer();
}

/** Inputs in every shape a phone or an editor produces, built from real photos. */
const inputs: { name: string; make: () => Promise<Buffer>; width: number; height: number }[] = [
  { name: 'baseline JPEG', make: async () => squirrel, width: 535, height: 426 },
  { name: 'RGB PNG', make: async () => cat, width: 451, height: 300 },
  { name: 'EXIF orientation 6 (rotate 90 cw): width and height swap', make: () => sharp(squirrel).withMetadata({ orientation: 6 }).jpeg().toBuffer(), width: 426, height: 535 },
  { name: 'EXIF orientation 3 (180)', make: () => sharp(squirrel).withMetadata({ orientation: 3 }).jpeg().toBuffer(), width: 535, height: 426 },
  { name: 'CMYK JPEG', make: () => sharp(squirrel).toColourspace('cmyk').jpeg().toBuffer(), width: 535, height: 426 },
  { name: '16-bit PNG', make: () => sharp(cat).toColourspace('rgb16').png().toBuffer(), width: 451, height: 300 },
  { name: 'greyscale JPEG', make: () => sharp(squirrel).greyscale().jpeg().toBuffer(), width: 535, height: 426 },
  { name: 'palette PNG', make: () => sharp(cat).png({ palette: true, colours: 64 }).toBuffer(), width: 451, height: 300 },
  { name: 'RGBA PNG (flattened)', make: () => sharp(cat).ensureAlpha(0.5).png().toBuffer(), width: 451, height: 300 },
  { name: 'WebP', make: () => sharp(cat).webp().toBuffer(), width: 451, height: 300 },
];

describe('decodeImage: supported inputs become upright 8-bit sRGB', () => {
  for (const c of inputs) {
    it(c.name, async () => {
      const image = await decodeImage(await c.make(), LIMIT);
      assert.deepEqual([image.width, image.height], [c.width, c.height]);
      assert.equal(image.data.length, c.width * c.height * 3);
    });
  }

  it('EXIF rotation moves pixels, not just the header', async () => {
    const plain = await decodeImage(squirrel, LIMIT);
    const rotated = await decodeImage(await sharp(squirrel).withMetadata({ orientation: 6 }).jpeg({ quality: 100 }).toBuffer(), LIMIT);
    // Orientation 6: the stored top-left pixel is displayed top-right.
    const storedTopLeft = plain.data.subarray(0, 3);
    const displayedTopRight = rotated.data.subarray((rotated.width - 1) * 3, rotated.width * 3);
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(storedTopLeft[c]! - displayedTopRight[c]!) < 16, `channel ${c}`);
  });

  it('a greyscale input decodes to equal R, G and B', async () => {
    const image = await decodeImage(await sharp(cat).greyscale().png().toBuffer(), LIMIT);
    for (let i = 0; i < 300; i += 3) assert.ok(image.data[i] === image.data[i + 1] && image.data[i] === image.data[i + 2]);
  });

  it('CMYK colours come back close to the RGB original', async () => {
    const rgb = await decodeImage(await sharp(squirrel).jpeg({ quality: 95 }).toBuffer(), LIMIT);
    const cmyk = await decodeImage(await sharp(squirrel).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer(), LIMIT);
    let diff = 0;
    for (let i = 0; i < rgb.data.length; i++) diff += Math.abs(rgb.data[i]! - cmyk.data[i]!);
    assert.ok(diff / rgb.data.length < 20, `mean difference ${diff / rgb.data.length}`);
  });
});

describe('decodeImage: unreadable inputs are permanent errors with a code', () => {
  const bad: { name: string; make: () => Promise<Buffer>; code: PermanentCode; limit?: number }[] = [
    { name: 'empty', make: async () => Buffer.alloc(0), code: 'empty' },
    { name: 'random bytes', make: async () => Buffer.from('this is not an image at all, just text'), code: 'unsupported_format' },
    { name: 'truncated JPEG', make: async () => squirrel.subarray(0, Math.floor(squirrel.length / 2)), code: 'corrupt' },
    { name: 'truncated PNG', make: async () => cat.subarray(0, Math.floor(cat.length / 3)), code: 'corrupt' },
    { name: 'JPEG header with garbage body', make: async () => Buffer.concat([squirrel.subarray(0, 600), Buffer.alloc(5000, 0x55)]), code: 'corrupt' },
    { name: 'GIF', make: () => sharp(cat).gif().toBuffer(), code: 'unsupported_format' },
    { name: 'TIFF', make: () => sharp(cat).tiff().toBuffer(), code: 'unsupported_format' },
    { name: 'more pixels than the limit', make: async () => cat, code: 'pixel_limit', limit: 451 * 300 - 1 },
    { name: 'animated WebP', make: animatedWebp, code: 'animated' },
  ];
  for (const c of bad) {
    it(`${c.name} -> ${c.code}`, async () => {
      const bytes = await c.make().catch(() => undefined);
      if (!bytes) return assert.fail(`could not build the ${c.name} input`);
      await assert.rejects(decodeImage(bytes, { limitInputPixels: c.limit ?? 64_000_000 }), (err: unknown) => {
        assert.ok(err instanceof PermanentError, String(err));
        assert.equal(err.code, c.code, err.message);
        return true;
      });
    });
  }
});
