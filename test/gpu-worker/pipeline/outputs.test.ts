import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { decodeImage } from '../../../gpu-worker/pipeline/decode.js';
import { blackAndWhite, composeRgba, encodeOutputs, PREVIEW_MAX_SIDE } from '../../../gpu-worker/pipeline/outputs.js';

async function sources(file: string) {
  const image = await decodeImage(readFileSync(`test/fixtures/photos/${file}`), { limitInputPixels: 1e8 });
  // A centred ellipse as the subject, with a soft rim.
  const alpha = Buffer.alloc(image.width * image.height);
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      const d = Math.hypot((x - image.width / 2) / (image.width / 3), (y - image.height / 2) / (image.height / 3));
      alpha[y * image.width + x] = Math.round(Math.min(1, Math.max(0, (1.05 - d) * 10)) * 255);
    }
  }
  return { image, alpha, rgba: composeRgba(image, alpha) };
}

describe('composeRgba', () => {
  it('interleaves colour and alpha, zeroing fully transparent pixels', async () => {
    const rgba = composeRgba({ data: Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), width: 3, height: 1 }, Uint8Array.from([0, 200, 255]));
    assert.deepEqual([...rgba], [0, 0, 0, 0, 4, 5, 6, 200, 7, 8, 9, 255]);
  });
  it('refuses buffers that do not match the size', () => {
    assert.throws(() => composeRgba({ data: Buffer.alloc(6), width: 2, height: 1 }, Uint8Array.from([0])), /composeRgba: 6 colour bytes and 1 alpha values for a 2x1 image/);
  });
});

describe('blackAndWhite', () => {
  it("stretches the foreground's 1st-99th percentile of luma to the full range", () => {
    // Foreground greys 100..150, background white (ignored: alpha 0).
    const px: number[] = [];
    for (let v = 100; v <= 150; v++) px.push(v, v, v, 255);
    for (let i = 0; i < 50; i++) px.push(255, 255, 255, 0);
    const { greyAlpha, scale, offset } = blackAndWhite(Uint8Array.from(px));
    assert.ok(Math.abs(100 * scale + offset) < 6 && Math.abs(150 * scale + offset - 255) < 6, `scale ${scale} offset ${offset}`);
    // Grey+alpha pairs: the darkest foreground grey near black, the brightest near white, the alpha kept.
    assert.ok(greyAlpha[0]! < 6 && greyAlpha[50 * 2]! > 249, `${greyAlpha[0]} .. ${greyAlpha[100]}`);
    assert.deepEqual([greyAlpha[1], greyAlpha[50 * 2 + 1], greyAlpha[51 * 2 + 1]], [255, 255, 0]);
  });
  it('no foreground: identity', () => {
    const { greyAlpha, scale, offset } = blackAndWhite(Uint8Array.from([9, 9, 9, 0, 0, 0, 0, 0]));
    assert.deepEqual([scale, offset, ...greyAlpha], [1, 0, 9, 0, 0, 0]);
  });
});

describe('encodeOutputs', () => {
  it('every kind decodes, at the original size (preview at most 1024 px), with the right channels and no metadata', async () => {
    const { image, alpha, rgba } = await sources('scipy-face-raccoon.jpg'); // 1024x768
    const outs = await encodeOutputs(['cutout', 'mask', 'bw', 'preview'], { rgba, alpha, width: image.width, height: image.height });
    assert.deepEqual(
      outs.map((o) => o.kind),
      ['cutout', 'mask', 'bw', 'preview'],
    );
    const expected: Record<string, { format: string; channels: number; hasAlpha: boolean; contentType: string }> = {
      cutout: { format: 'png', channels: 4, hasAlpha: true, contentType: 'image/png' },
      mask: { format: 'png', channels: 1, hasAlpha: false, contentType: 'image/png' },
      bw: { format: 'png', channels: 2, hasAlpha: true, contentType: 'image/png' },
      preview: { format: 'webp', channels: 4, hasAlpha: true, contentType: 'image/webp' },
    };
    for (const o of outs) {
      const meta = await sharp(o.data).metadata();
      const e = expected[o.kind]!;
      assert.deepEqual([meta.format, meta.channels, meta.hasAlpha, o.contentType], [e.format, e.channels, e.hasAlpha, e.contentType], o.kind);
      assert.deepEqual([meta.width, meta.height], [o.width, o.height], o.kind);
      assert.equal(meta.exif, undefined, `${o.kind} has no EXIF`);
      assert.equal(meta.xmp, undefined, `${o.kind} has no XMP`);
    }
    assert.deepEqual([outs[0]!.width, outs[0]!.height], [1024, 768]);
    assert.ok(Math.max(outs[3]!.width, outs[3]!.height) <= PREVIEW_MAX_SIDE);
  });
  it('the cutout keeps the alpha exactly and the mask is that alpha', async () => {
    const { image, alpha, rgba } = await sources('skimage-chelsea-cat.png');
    const [cutout, mask] = await encodeOutputs(['cutout', 'mask'], { rgba, alpha, width: image.width, height: image.height });
    const c = await sharp(cutout!.data).raw().toBuffer();
    const m = await sharp(mask!.data).extractChannel(0).raw().toBuffer();
    for (let i = 0; i < alpha.length; i += 97) {
      assert.equal(c[i * 4 + 3], alpha[i]);
      assert.equal(m[i], alpha[i]);
    }
  });
  it('a small image gets a preview at its own size (never enlarged)', async () => {
    const { image, alpha, rgba } = await sources('skimage-chelsea-cat.png');
    const [preview] = await encodeOutputs(['preview'], { rgba, alpha, width: image.width, height: image.height });
    assert.deepEqual([preview!.width, preview!.height], [451, 300]);
  });
});
