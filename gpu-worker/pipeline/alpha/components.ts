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
  const areas = new Array<number>(count + 1).fill(0);
  const touchesBorder = new Array<boolean>(count + 1).fill(false);
  for (let y = 0, i = 0; y < height; y++) {
    const edgeRow = y === 0 || y === height - 1;
    for (let x = 0; x < width; x++, i++) {
      const l = labels[i]!;
      if (l === 0) continue;
      const c = compact[l]!;
      labels[i] = c;
      areas[c]!++;
      if (edgeRow || x === 0 || x === width - 1) touchesBorder[c] = true;
    }
  }
  return { labels, areas, touchesBorder };
}
