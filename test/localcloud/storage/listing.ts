// objects.list paging as a pure function over the sorted object names, so it can be tested
// without a disk. With a delimiter, everything under a common prefix collapses to one key;
// keys ascend with names, so the page token is simply the last key returned.

export interface ListOptions {
  prefix?: string;
  delimiter?: string;
  /** The last key of the previous page (already decoded). */
  pageToken?: string;
  maxResults: number;
  startOffset?: string;
  endOffset?: string;
}

export interface NamePage {
  /** Object names to return as items. */
  names: string[];
  prefixes: string[];
  nextPageToken?: string;
}

/** One page of `sortedNames` under `opts`; `nextPageToken` is set only when more keys follow. */
export function pageOfNames(sortedNames: readonly string[], opts: ListOptions): NamePage {
  const prefix = opts.prefix ?? '';
  const names: string[] = [];
  const prefixes: string[] = [];
  let lastKey: string | undefined;
  for (const name of sortedNames) {
    if (!name.startsWith(prefix)) continue;
    if (opts.startOffset && name < opts.startOffset) continue;
    if (opts.endOffset && name >= opts.endOffset) continue;
    const cut = opts.delimiter ? name.indexOf(opts.delimiter, prefix.length) : -1;
    const key = cut >= 0 ? name.slice(0, cut + opts.delimiter!.length) : name;
    if (opts.pageToken && key <= opts.pageToken) continue;
    if (key === lastKey) continue;
    if (names.length + prefixes.length >= opts.maxResults) return { names, prefixes, nextPageToken: lastKey };
    if (cut >= 0) prefixes.push(key);
    else names.push(name);
    lastKey = key;
  }
  return { names, prefixes };
}
