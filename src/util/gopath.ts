/**
 * Go's `path` package for '/'-separated paths. Node's path.posix.normalize keeps trailing slashes
 * and differs on empty input; LLB op bytes, fsutil pattern matching, Sprig's path functions and
 * werf.yaml path normalisation all need Go's exact results.
 */

/** An empty, `.` or `..` element, or a trailing slash: what Clean would change. */
const NOT_CLEAN = /\/\/|(?:^|\/)\.\.?(?:\/|$)|.\/$/;

/** Go's path.Clean. */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  // Most paths (every op's, many times a compile) are clean already: Clean returns them as they are.
  if (!NOT_CLEAN.test(p)) return p;
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(part);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}

/** Go's path.Join: empty elements are ignored; the result is cleaned; all empty → "". */
export function joinPath(...elems: string[]): string {
  const nonEmpty = elems.filter((e) => e !== '');
  return nonEmpty.length === 0 ? '' : cleanPath(nonEmpty.join('/'));
}
