/**
 * Connected components of a binary image (flood fill with an explicit stack: a 1 MP map
 * takes a few ms, and a recursive fill would overflow on a large subject).
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
 * Label the pixels where `inside(i)` holds; `eight` joins diagonal neighbours too (subjects:
 * a thin diagonal leg is still attached), four-connected is the dual used for the background
 * (so a hole and its surrounding subject never both leak through the same diagonal).
 * @example const { labels, areas } = labelComponents(w, h, (i) => mask[i] === 1, true)
 */
export function labelComponents(width: number, height: number, inside: (i: number) => boolean, eight: boolean): Components {
  const n = width * height;
  const labels = new Int32Array(n);
  const areas = [0];
  const touchesBorder = [false];
  const stack = new Int32Array(n);
  let next = 0;
  for (let start = 0; start < n; start++) {
    if (labels[start] !== 0 || !inside(start)) continue;
    const label = ++next;
    let area = 0;
    let border = false;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    while (top > 0) {
      const i = stack[--top]!;
      area++;
      const x = i % width;
      const y = (i - x) / width;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) border = true;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          if ((dx === 0 && dy === 0) || (!eight && dx !== 0 && dy !== 0)) continue;
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (labels[j] === 0 && inside(j)) {
            labels[j] = label;
            stack[top++] = j;
          }
        }
      }
    }
    areas.push(area);
    touchesBorder.push(border);
  }
  return { labels, areas, touchesBorder };
}
