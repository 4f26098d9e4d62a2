/** Path helpers of client/llb on top of Go's path package. */
import { cleanPath, joinPath } from '../util/gopath';

export { cleanPath, joinPath };

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
