/**
 * Whole lines of a child's output with its name in front, for the stack's echo mode: a pipe
 * hands over chunks that end anywhere, so a prefix per chunk lands mid-line.
 */

/** @example const echo = linePrefixer('worker-1'); child.stdout.on('data', (c) => echo(c.toString())); */
export function linePrefixer(name: string, write: (text: string) => void = (text) => void process.stderr.write(text)): (chunk: string) => void {
  let partial = '';
  return (chunk) => {
    const text = partial + chunk;
    const end = text.lastIndexOf('\n');
    if (end < 0) {
      partial = text;
      return;
    }
    partial = text.slice(end + 1);
    write(text.slice(0, end + 1).replace(/^(?=.)/gm, `[${name}] `));
  };
}
