import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bandColours } from '../../../gpu-worker/pipeline/alpha/colour.js';
import { hasSoft } from '../../../gpu-worker/pipeline/alpha/soft-tiles.js';
import { labelComponents } from '../../../gpu-worker/pipeline/alpha/components.js';
import { responseCurve } from '../../../gpu-worker/pipeline/alpha/curve.js';
import { decisiveAlpha } from '../../../gpu-worker/pipeline/alpha/decisive.js';
import { distanceAcross, distanceTo } from '../../../gpu-worker/pipeline/alpha/distance.js';
import { edgeAwareAlpha } from '../../../gpu-worker/pipeline/alpha/edges.js';
import { fillHoles } from '../../../gpu-worker/pipeline/alpha/holes.js';
import { removeIslands } from '../../../gpu-worker/pipeline/alpha/islands.js';
import { AlphaSpec, DEFAULT_ALPHA, LEGACY_ALPHA, SECOND_LOOK_GPU, withProviderDefaults } from '../../../gpu-worker/pipeline/alpha/options.js';
import { mapPeak, prepareAlpha } from '../../../gpu-worker/pipeline/alpha/prepare.js';
import { isNoSubject, qualityOf } from '../../../gpu-worker/pipeline/alpha/quality.js';
import { mergeSecondLook, secondLookCrop } from '../../../gpu-worker/pipeline/alpha/second-look.js';
import { enlargeBilinear } from '../../../gpu-worker/pipeline/postprocess.js';

const S = 64;
/** An 8-bit image from a function of (x, y). */
const paint = (w: number, h: number, f: (x: number, y: number) => number): Uint8Array => {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[y * w + x] = Math.max(0, Math.min(255, Math.round(f(x, y))));
  return out;
};
/** A disc of radius r at (cx, cy) with a linear soft edge `soft` pixels wide, `inside` as its level. */
const disc = (cx: number, cy: number, r: number, soft = 2, inside = 255) => (x: number, y: number) => inside * Math.min(1, Math.max(0, (r - Math.hypot(x - cx, y - cy)) / soft + 0.5));

describe('responseCurve', () => {
  it('0 at or below low, 255 at or above high, linear between', () => {
    const lut = responseCurve(50, 150);
    assert.deepEqual([lut[0], lut[50], lut[100], lut[150], lut[255]], [0, 0, 128, 255, 255]);
    assert.throws(() => responseCurve(100, 100), /low < high/);
  });
});

describe('labelComponents', () => {
  it('a U shape (two branches met late) is one component; separate blobs are two', () => {
    const u = Uint8Array.from([1, 0, 1, 0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1]);
    const c = labelComponents(5, 3, u, true);
    assert.deepEqual(c.areas, [0, 7, 1]);
    assert.equal(c.labels[0], c.labels[2]);
    assert.notEqual(c.labels[14], c.labels[0]);
  });
  it('eight-connected joins a diagonal, four-connected does not; border contact is reported', () => {
    const m = Uint8Array.from([1, 0, 0, 0, 1, 0, 0, 0, 0]);
    const eight = labelComponents(3, 3, m, true);
    const four = labelComponents(3, 3, m, false);
    assert.deepEqual(eight.areas, [0, 2]);
    assert.deepEqual(four.areas, [0, 1, 1]);
    assert.deepEqual(eight.touchesBorder, [false, true]);
  });
});

describe('labelComponents against a flood fill', () => {
  it('the same labels, numbering, areas and border contact on random masks, both connectivities', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const flood = (w: number, h: number, m: Uint8Array, eight: boolean): Int32Array => {
      const lab = new Int32Array(w * h);
      let c = 0;
      for (let i = 0; i < w * h; i++) {
        if (!m[i] || lab[i]) continue;
        lab[i] = ++c;
        const stack = [i];
        while (stack.length) {
          const p = stack.pop()!;
          const x = p % w;
          const y = (p - x) / w;
          for (let dy = -1; dy <= 1; dy++) {
            for (let dx = -1; dx <= 1; dx++) {
              const xx = x + dx;
              const yy = y + dy;
              if ((!dx && !dy) || (!eight && dx && dy) || xx < 0 || yy < 0 || xx >= w || yy >= h) continue;
              const j = yy * w + xx;
              if (!m[j] || lab[j]) continue;
              lab[j] = c;
              stack.push(j);
            }
          }
        }
      }
      return lab;
    };
    for (let t = 0; t < 100; t++) {
      const w = 1 + Math.floor(rnd() * 30);
      const h = 1 + Math.floor(rnd() * 30);
      const p = rnd();
      const m = Uint8Array.from({ length: w * h }, () => (rnd() < p ? 1 : 0));
      for (const eight of [true, false]) {
        const got = labelComponents(w, h, m, eight);
        const want = flood(w, h, m, eight);
        assert.deepEqual(got.labels, want, `mask ${t} (${w}x${h}, eight ${eight})`);
        for (let c = 1; c < got.areas.length; c++) assert.equal(got.areas[c], want.filter((l) => l === c).length);
      }
    }
  });
});

describe('distanceAcross', () => {
  /** The 3-4 chamfer distance by brute force: relax every pixel from its eight neighbours until nothing changes. */
  function reference(mask: Uint8Array, w: number, h: number, capIn: number, capOut: number): number[] {
    const d = Array.from(mask, () => Infinity);
    for (let changed = true; changed; ) {
      changed = false;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const i = y * w + x;
          for (const [dx, dy, step] of [[-1, 0, 3], [1, 0, 3], [0, -1, 3], [0, 1, 3], [-1, -1, 4], [1, -1, 4], [-1, 1, 4], [1, 1, 4]] as const) {
            const nx = x + dx;
            const ny = y + dy;
            if (nx < 0 || ny < 0 || nx >= w || ny >= h) continue;
            const j = ny * w + nx;
            const v = (mask[j] === mask[i] ? d[j]! : 0) + step;
            if (v < d[i]!) {
              d[i] = v;
              changed = true;
            }
          }
        }
      }
    }
    return d.map((v, i) => Math.fround(Math.min(mask[i] ? capIn : capOut, v / 3)));
  }
  it('inside: steps to the background; outside: steps to the subject, each capped (brute force on random masks)', () => {
    let seed = 11;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
    for (const [w, h, p] of [[37, 23, 0.5], [64, 48, 0.8], [50, 1, 0.3], [1, 40, 0.6]] as const) {
      const mask = Uint8Array.from({ length: w * h }, () => (rnd() < p ? 1 : 0));
      assert.deepEqual([...distanceAcross(mask, w, h, 4, 6)], reference(mask, w, h, 4, 6), `${w}x${h}`);
    }
  });
});

describe('distanceTo', () => {
  it('counts steps to the nearest target pixel, capped', () => {
    const row = Uint8Array.from([1, 1, 1, 1, 0, 0, 0]);
    assert.deepEqual([...distanceTo(row, 7, 1, 0, 10)], [4, 3, 2, 1, 0, 0, 0]);
    assert.deepEqual([...distanceTo(row, 7, 1, 0, 2)], [2, 2, 2, 1, 0, 0, 0]);
  });
});

describe('removeIslands (two separate subjects)', () => {
  const two = (r2: number, join = 0) => paint(S, S, (x, y) => Math.max(disc(20, 32, 12)(x, y), disc(50, 32, r2)(x, y), y === 32 && x > 20 && x < 50 ? join : 0));
  it('a small island is removed with its surroundings; the main part stays', () => {
    const s = removeIslands(two(3), S, S, 0.15, 26);
    assert.equal(s.parts.length, 1);
    assert.equal(s.mask[32 * S + 50], 0, 'island centre removed');
    assert.equal(s.keep[32 * S + 50], 0);
    assert.equal(s.mask[32 * S + 20], 1);
  });
  it('a large second part is kept and reported as a second part', () => {
    const s = removeIslands(two(10), S, S, 0.15, 26);
    assert.equal(s.parts.length, 2);
    assert.ok(s.parts[1]! > 0.5 * s.parts[0]!);
    assert.equal(s.mask[32 * S + 50], 1);
  });
  it('a small part joined to the main one through faint values is the same subject (kept)', () => {
    const s = removeIslands(two(3, 60), S, S, 0.15, 26);
    assert.equal(s.mask[32 * S + 50], 1);
    assert.equal(s.parts.length, 1);
  });
  it('0 keeps every part', () => {
    assert.equal(removeIslands(two(3), S, S, 0, 26).mask[32 * S + 50], 1);
  });
});

describe('fillHoles (a subject with a hole)', () => {
  const ring = (hole: number) => Uint8Array.from(paint(S, S, (x, y) => (Math.hypot(x - 32, y - 32) < 20 && Math.hypot(x - 32, y - 32) >= hole ? 1 : 0)));
  it('a small enclosed hole is filled', () => {
    const m = ring(3);
    const filled = fillHoles(m, S, S, 0.05);
    assert.ok(filled > 0 && filled < 40, `filled ${filled}`);
    assert.equal(m[32 * S + 32], 1);
  });
  it('a large hole (a real gap) stays, as does the background touching the frame', () => {
    const m = ring(10);
    assert.equal(fillHoles(m, S, S, 0.05), 0);
    assert.equal(m[32 * S + 32], 0);
    assert.equal(m[0], 0);
  });
  it('0 is off', () => assert.equal(fillHoles(ring(3), S, S, 0), 0));
  it('with the map: a hole the model hedged on is filled, one it is sure is background (a tail loop) stays', () => {
    const hedged = paint(S, S, (x, y) => (Math.hypot(x - 32, y - 32) < 3 ? 90 : 0));
    const m1 = ring(3);
    assert.ok(fillHoles(m1, S, S, 0.05, { map: hedged, clearLevel: 38, clearMax: 0.5 }) > 0);
    assert.equal(m1[32 * S + 32], 1);
    const sure = paint(S, S, (x, y) => (Math.hypot(x - 32, y - 32) < 3 ? (x === 32 && y === 32 ? 90 : 10) : 0));
    const m2 = ring(3);
    assert.equal(fillHoles(m2, S, S, 0.05, { map: sure, clearLevel: 38, clearMax: 0.5 }), 0);
    assert.equal(m2[32 * S + 32], 0);
  });
});

describe('decisiveAlpha (a disc with a soft edge)', () => {
  // A see-through disc (level 190, like the cat's chest) with a 3-pixel soft edge, and a faint ghost far from it.
  const a8 = paint(S, S, (x, y) => Math.max(disc(32, 32, 18, 3, 190)(x, y), Math.hypot(x - 58, y - 58) < 3 ? 60 : 0));
  const spec = AlphaSpec.parse({});
  const { alpha, analysis } = decisiveAlpha(a8, S, S, spec);
  it('the interior is solid, the far background clear, softness only in a thin band around the outline', () => {
    assert.equal(alpha[32 * S + 32], 255);
    assert.equal(alpha[2 * S + 2], 0);
    assert.equal(alpha[58 * S + 58], 0, 'the ghost is gone');
    for (let i = 0; i < S * S; i++) {
      if (alpha[i] === 0 || alpha[i] === 255) continue;
      const x = i % S;
      const y = Math.floor(i / S);
      const r = Math.hypot(x - 32, y - 32);
      assert.ok(r > 18 - 1 - spec.bandInside && r < 18 + 1 + spec.bandOutside, `soft pixel at radius ${r.toFixed(1)}`);
    }
  });
  it('the analysis counts the see-through interior as uncertain and finds the box', () => {
    assert.ok(analysis.uncertain > 0.5 * analysis.subjectArea, `uncertain ${analysis.uncertain} of ${analysis.subjectArea}`);
    assert.deepEqual(analysis.sides, [0, 0, 0, 0]);
    assert.ok(analysis.box && analysis.box.left >= 12 && analysis.box.right <= 52);
  });
  it('enlarged for the colour line to decide later, the band keeps the map\'s own values; at the map\'s size the curve decides them', () => {
    const enlarged = decisiveAlpha(a8, S, S, spec, 4).alpha;
    let soft = 0;
    for (let i = 0; i < S * S; i++) {
      if (alpha[i] === 0 || alpha[i] === 255 || enlarged[i] === 0 || enlarged[i] === 255) continue;
      soft++;
      assert.equal(enlarged[i], a8[i], `band pixel ${i}: the map's value`);
    }
    assert.ok(soft > 20, `${soft} band pixels compared`);
    assert.deepEqual(decisiveAlpha(a8, S, S, { ...spec, curveEnlarged: true }, 4).alpha, alpha, 'curveEnlarged: the curve everywhere');
    assert.equal(enlarged[32 * S + 32], 255, 'the interior is still solid');
  });
  it('off, the alpha is the map as it came (the analysis is still made)', () => {
    const off = decisiveAlpha(a8, S, S, LEGACY_ALPHA);
    assert.equal(off.alpha, a8);
    assert.equal(off.analysis.subjectArea, analysis.subjectArea);
  });
});

describe('edgeAwareAlpha', () => {
  it('a 4x-enlarged soft edge follows the sharp edge of the full-resolution photo', () => {
    // Truth: a vertical edge at x = 101 in a 256x64 photo (dog brown left, grass green right); the
    // model's view is 64x16 with the edge one map pixel off and soft, enlarged 4x.
    const W = 256;
    const H = 64;
    const truth = paint(W, H, (x) => (x < 101 ? 255 : 0));
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) rgb.set(truth[i] ? [140, 90, 50] : [60, 150, 60], i * 3);
    const small = paint(64, 16, (x) => 255 * Math.min(1, Math.max(0, (26.5 - x) / 3 + 0.5)));
    const enlarged = enlargeBilinear(small, 64, 16, W, H);
    const out = edgeAwareAlpha({ data: rgb, width: W, height: H }, enlarged, { radius: 8 });
    const mae = (a: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - truth[i]!), 0) / a.length / 255;
    assert.ok(mae(out) < 0.5 * mae(enlarged), `MAE ${mae(enlarged).toFixed(4)} -> ${mae(out).toFixed(4)}`);
    // Only soft pixels may change.
    for (let i = 0; i < W * H; i++) if (enlarged[i] === 0 || enlarged[i] === 255) assert.equal(out[i], enlarged[i]);
  });
  it('a flat photo (nothing to follow) leaves the alpha about where it was', () => {
    const W = 64;
    const H = 16;
    const a = enlargeBilinear(paint(16, 4, (x) => (x < 8 ? 255 : 0)), 16, 4, W, H);
    const out = edgeAwareAlpha({ data: Buffer.alloc(W * H * 3, 128), width: W, height: H }, a, { radius: 4 });
    for (let i = 0; i < W * H; i++) assert.ok(Math.abs(out[i]! - a[i]!) <= 64, `pixel ${i}: ${a[i]} -> ${out[i]}`);
  });
});

describe('bandColours', () => {
  it('a soft edge pixel gets the foreground colour of its opaque neighbours, not the mix it shows', () => {
    // Left half opaque brown, right half clear green, a 4-pixel soft ramp between; the photo is the true mix.
    const W = 32;
    const H = 8;
    const F = [140, 90, 50];
    const B = [60, 150, 60];
    const alpha = paint(W, H, (x) => 255 * Math.min(1, Math.max(0, (18 - x) / 4)));
    const rgb = Buffer.alloc(W * H * 3);
    for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round((alpha[i]! * F[c]! + (255 - alpha[i]!) * B[c]!) / 255);
    const rgba = new Uint8Array(W * H * 4);
    for (let i = 0; i < W * H; i++) rgba.set([rgb[i * 3]!, rgb[i * 3 + 1]!, rgb[i * 3 + 2]!, alpha[i]!], i * 4);
    bandColours({ data: rgb, width: W, height: H }, alpha, rgba, 6);
    for (let i = 0; i < W * H; i++) {
      if (alpha[i] === 0 || alpha[i] === 255) {
        assert.deepEqual([...rgba.subarray(i * 4, i * 4 + 3)], [...rgb.subarray(i * 3, i * 3 + 3)], 'definite pixels untouched');
        continue;
      }
      for (let c = 0; c < 3; c++) assert.ok(Math.abs(rgba[i * 4 + c]! - F[c]!) <= 2, `pixel ${i} channel ${c}: ${rgba[i * 4 + c]} vs ${F[c]}`);
    }
  });
});

describe('hasSoft (read a word at a time where aligned)', () => {
  it('finds one soft pixel at every position of every tile, aligned or not, and none in opaque or clear tiles', () => {
    const W = 23;
    const H = 5;
    // A view at an odd byte offset: no word reads at all; offset 0: words where rows align.
    for (const offset of [0, 1]) {
      const backing = new Uint8Array(W * H + offset);
      const alpha = backing.subarray(offset);
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) alpha[y * W + x] = (x + y) % 2 ? 255 : 0;
      assert.equal(hasSoft(alpha, W, 0, 0, W, H), false);
      for (let i = 0; i < W * H; i++) {
        const keep = alpha[i]!;
        alpha[i] = 128;
        const x = i % W;
        const y = Math.floor(i / W);
        assert.equal(hasSoft(alpha, W, 0, 0, W, H), true, `soft pixel ${x},${y} (offset ${offset})`);
        assert.equal(hasSoft(alpha, W, x, y, x + 1, y + 1), true);
        // A tile beside it (same rows, columns after it) does not see it.
        assert.equal(hasSoft(alpha, W, x + 1, 0, W, H), false);
        alpha[i] = keep;
      }
    }
  });
});

describe('quality verdict', () => {
  const base = { width: 100, height: 100, subjectArea: 2000, parts: [2000], uncertain: 0, sides: [0, 0, 0, 0] as [number, number, number, number], box: { left: 30, top: 30, right: 70, bottom: 70 } };
  it('a clean, whole, single subject scores 1 without flags', () => assert.deepEqual(qualityOf(base), { score: 1, flags: [] }));
  it('each condition raises its flag and lowers the score', () => {
    const cases = [
      { a: { uncertain: 600 }, flag: 'uncertain_alpha' },
      { a: { sides: [0, 0, 0.4, 0] as [number, number, number, number] }, flag: 'subject_cut_by_frame' },
      { a: { parts: [1200, 800] }, flag: 'several_subjects' },
      { a: { subjectArea: 200, parts: [200] }, flag: 'small_subject' },
    ];
    for (const c of cases) {
      const q = qualityOf({ ...base, ...c.a });
      assert.deepEqual(q.flags, [c.flag]);
      assert.ok(q.score < 1);
    }
  });
  it('no subject: a speck, or a map that never gets confident', () => {
    assert.equal(isNoSubject(base, 0.99), false);
    assert.equal(isNoSubject({ ...base, subjectArea: 5 }, 0.99), true);
    assert.equal(isNoSubject(base, 0.3), true);
  });
  it('prepareAlpha on a flat low map reports no subject (the stretch would have made it look confident)', () => {
    const map = { data: Float32Array.from({ length: S * S }, (_, i) => 0.1 + (i % 7) * 0.01), width: S, height: S };
    assert.ok(mapPeak(map, 'probabilities') < 0.2);
    assert.equal(prepareAlpha(map, { kind: 'probabilities', minMax: true }, DEFAULT_ALPHA).noSubject, true);
  });
});

describe('second look', () => {
  const analysis = { width: 100, height: 100, subjectArea: 100, parts: [100], uncertain: 0, sides: [0, 0, 0, 0] as [number, number, number, number], box: { left: 40, top: 45, right: 50, bottom: 55 } };
  it('a small subject gets a padded square crop in the photo; a large one none', () => {
    const spec = { secondLookBelow: 0.1, secondLookPad: 0.5 };
    assert.deepEqual(secondLookCrop(analysis, 1000, 1000, spec), { left: 350, top: 400, width: 200, height: 200 });
    assert.equal(secondLookCrop({ ...analysis, subjectArea: 2000 }, 1000, 1000, spec), undefined);
    assert.equal(secondLookCrop(analysis, 1000, 1000, { ...spec, secondLookBelow: 0 }), undefined);
  });
  it('the crop map replaces the first inside the crop (faded at its border), nothing outside', () => {
    const first = { data: new Float32Array(100 * 100).fill(0.2), width: 100, height: 100 };
    const second = { data: new Float32Array(50 * 50).fill(0.9), width: 50, height: 50 };
    const merged = mergeSecondLook(first, second, { left: 200, top: 200, width: 400, height: 400 }, 1000, 1000);
    assert.ok(Math.abs(merged.data[40 * 100 + 40]! - 0.9) < 1e-6, 'centre from the second look');
    assert.equal(merged.data[10 * 100 + 10], first.data[0], 'outside untouched');
    const rim = merged.data[20 * 100 + 40]!;
    assert.ok(rim > 0.2 && rim < 0.9, `faded rim ${rim}`);
    assert.equal(first.data[40 * 100 + 40], Math.fround(0.2), 'the first map is not modified');
  });
});

describe('alpha spec', () => {
  it('the second look is on by default on a GPU provider only; a spec value wins', () => {
    assert.equal(withProviderDefaults(DEFAULT_ALPHA, 'cuda').secondLookBelow, SECOND_LOOK_GPU);
    assert.equal(withProviderDefaults(DEFAULT_ALPHA, 'cpu').secondLookBelow, 0);
    assert.equal(withProviderDefaults(AlphaSpec.parse({ secondLookBelow: 0.05 }), 'cpu').secondLookBelow, 0.05);
  });
  it('defaults parse; curveLow must be below curveHigh', () => {
    assert.equal(DEFAULT_ALPHA.decisive, true);
    assert.throws(() => AlphaSpec.parse({ curveLow: 200, curveHigh: 100 }), /curveLow must be below curveHigh/);
  });
});
