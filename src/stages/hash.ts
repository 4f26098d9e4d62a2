/**
 * werf's hash helpers (common-go `util.Sha256Hash` / `util.Sha3_224Hash`): the arguments joined
 * with ":::" and hashed, lowercase hex. Zero arguments hash the empty string, so `H256()` is
 * e3b0c442… — werf feeds that to the next stage even for git-less images.
 */
import { goQuote as strconvQuote } from '../template/fmt';
import { hexDigest } from '../util/digest';

export const HASH_SEPARATOR = ':::';

export function sha256Hash(...args: string[]): string {
  return hexDigest('sha256', args.join(HASH_SEPARATOR));
}

export function sha3_224Hash(...args: string[]): string {
  return hexDigest('sha3-224', args.join(HASH_SEPARATOR));
}

/** Go's fmt.Sprint of a bool. */
export function goBool(b: boolean | undefined): string {
  return b ? 'true' : 'false';
}

/** Go's sort.Strings: bytewise order of the UTF-8 encodings. */
export function goSortStrings(values: readonly string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
}

/** werf's mapToSortedArgs: k1, v1, k2, v2, … with keys in Go sort order. */
export function mapToSortedArgs(map: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const k of goSortStrings(Object.keys(map))) out.push(k, map[k]);
  return out;
}

/** Go's strconv.Quote (what `%q` prints for a string): the template engine's, which follows Go's tables. */
export function goQuote(s: string): string {
  return strconvQuote(s);
}
