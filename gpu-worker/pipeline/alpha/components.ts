/**
 * Connected components of a binary image: two passes with union-find over typed arrays
 * (a 1 MP map in ~10 ms; a flood fill with a closure per pixel took ~100 ms).
 */
export interface Components {
  /** Per pixel: 0 outside the set, else the component's number (1-based). */
  labels: Int32Array;
  /** Per component number (index 0 unused): its pixel count. */
  areas: number[];
  /** Per component number: whether it touches the image's border. */
  touchesBorder: boolean[];
}

/**
 * Label the pixels where `mask` is non-zero; `eight` joins diagonal neighbours too (subjects:
 * a thin diagonal leg is still attached), four-connected is the dual used for the background
 * (so a hole and its surrounding subject never both leak through the same diagonal).
 * @example const { labels, areas } = labelComponents(w, h, mask, true)
 */
export function labelComponents(width: number, height: number, mask: Uint8Array, eight: boolean): Components {
  const n = width * height;
  if (mask.length !== n) throw new Error(`mask has ${mask.length} values for a ${width}x${height} image`);
  const labels = new Int32Array(n);
  // Provisional labels' parents; a root is its own parent.
  let parent = new Int32Array(1024);
  let next = 1;
  const find = (a: number): number => {
    while (parent[a] !== a) {
      parent[a] = parent[parent[a]!]!;
      a = parent[a]!;
    }
    return a;
  };
  const union = (a: number, b: number): number => {
    const ra = find(a);
    const rb = find(b);
    if (ra === rb) return ra;
    if (ra < rb) {
      parent[rb] = ra;
      return ra;
    }
    parent[ra] = rb;
    return rb;
  };
  // Run-based: each row's runs of set pixels get one provisional label, joined with the runs
  // of the row above that touch them (overlap, or one pixel beyond each end for eight-
  // connectivity). The union-find then works per run, not per pixel: ~5x faster on a 1 MP
  // map than joining each pixel with its neighbours (this runs three times per map).
  const ext = eight ? 1 : 0;
  // Every run (first index, end index, provisional label), for the final pass.
  const runs = new IntTriples();
  let prevStart = new Int32Array(width);
  let prevEnd = new Int32Array(width);
  let prevLabel = new Int32Array(width);
  let curStart = new Int32Array(width);
  let curEnd = new Int32Array(width);
  let curLabel = new Int32Array(width);
  let prevCount = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let count = 0;
    let k = 0;
    for (let x = 0; x < width; ) {
      if (mask[row + x] === 0) {
        x++;
        continue;
      }
      const start = x;
      while (x < width && mask[row + x] !== 0) x++;
      // Runs above that end before this one starts (less the diagonal) cannot touch a later run either.
      while (k < prevCount && prevEnd[k]! + ext <= start) k++;
      let l = 0;
      for (let j = k; j < prevCount && prevStart[j]! < x + ext; j++) l = l === 0 ? find(prevLabel[j]!) : union(l, prevLabel[j]!);
      if (l === 0) {
        if (next === parent.length) {
          const grown = new Int32Array(parent.length * 2);
          grown.set(parent);
          parent = grown;
        }
        l = next++;
        parent[l] = l;
      }
      labels.fill(l, row + start, row + x);
      runs.push(row + start, row + x, l);
      curStart[count] = start;
      curEnd[count] = x;
      curLabel[count++] = l;
    }
    [prevStart, curStart] = [curStart, prevStart];
    [prevEnd, curEnd] = [curEnd, prevEnd];
    [prevLabel, curLabel] = [curLabel, prevLabel];
    prevCount = count;
  }
  // Roots -> compact numbers; then areas and border contact.
  const compact = new Int32Array(next);
  let count = 0;
  for (let l = 1; l < next; l++) {
    const r = find(l);
    if (compact[r] === 0) compact[r] = ++count;
    compact[l] = compact[r]!;
  }
  // Per run, not per pixel: a 1 MP map has tens of thousands of runs (~3x faster than
  // relabelling pixel by pixel).
  const areas = new Array<number>(count + 1).fill(0);
  const touchesBorder = new Array<boolean>(count + 1).fill(false);
  const lastRow = (height - 1) * width;
  const r = runs.data;
  for (let k = 0; k < runs.length; k += 3) {
    const start = r[k]!;
    const end = r[k + 1]!;
    const c = compact[r[k + 2]!]!;
    labels.fill(c, start, end);
    areas[c]! += end - start;
    // A run touches the border on the first or last row, or at the row's first or last pixel.
    if (start < width || start >= lastRow || start % width === 0 || end % width === 0) touchesBorder[c] = true;
  }
  return { labels, areas, touchesBorder };
}

/** A growable list of integer triples. */
class IntTriples {
  data = new Int32Array(3 << 12);
  length = 0;

  push(a: number, b: number, c: number): void {
    if (this.length + 3 > this.data.length) {
      const grown = new Int32Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = a;
    this.data[this.length++] = b;
    this.data[this.length++] = c;
  }
}
