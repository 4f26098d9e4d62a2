/**
 * Go's `path.Clean` / `path.Join` (slash paths). Node's path.posix.normalize keeps trailing slashes
 * and differs on empty input, and op bytes must match Go's exactly.
 */
export function cleanPath(p: string): string {
  if (p === '') return '.';
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

export function joinPath(...elems: string[]): string {
  const nonEmpty = elems.filter((e) => e !== '');
  return nonEmpty.length === 0 ? '' : cleanPath(nonEmpty.join('/'));
}

export function isAbsPath(p: string): boolean {
  return p.startsWith('/');
}

/**
 * client/llb's normalizePath: clean, make absolute against `parent` (the state's working dir), and
 * for destinations keep a trailing `/` or `/.` because they change copy semantics.
 */
export function normalizeLLBPath(parent: string, p: string, keepSlash: boolean): string {
  let out = cleanPath(p);
  if (!isAbsPath(out)) out = joinPath('/', parent, out);
  if (keepSlash) {
    if (p.endsWith('/') && !out.endsWith('/')) out += '/';
    else if (p.endsWith('/.')) {
      if (out !== '/') out += '/';
      out += '.';
    }
  }
  return out;
}
