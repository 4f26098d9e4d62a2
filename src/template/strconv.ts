/**
 * Go's strconv.ParseInt / ParseUint with base 0 and bitSize 64, shared by the template lexer's
 * number literals, yaml.v2's scalar resolution and Sprig's (spf13/cast) string conversions; and
 * the underscore rule ParseFloat applies too.
 */

const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_INT64 = 2n ** 63n - 1n;

/** strconv.ParseUint(s, 0, 64): no sign; 0x/0o/0b/0 prefixes; `_` between digits. null on any error. */
export function parseGoUint(s: string): bigint | null {
  if (s === '') return null;
  let base = 10n;
  let i = 0;
  if (s[0] === '0') {
    const p = s.length >= 3 ? s[1].toLowerCase() : '';
    if (p === 'b' || p === 'o' || p === 'x') {
      base = p === 'b' ? 2n : p === 'o' ? 8n : 16n;
      i = 2;
    } else {
      base = 8n;
      i = 1;
    }
  }
  let n = 0n;
  let underscores = false;
  for (; i < s.length; i++) {
    const c = s[i].toLowerCase();
    if (c === '_') {
      underscores = true;
      continue;
    }
    const d = c >= '0' && c <= '9' ? c.charCodeAt(0) - 48 : c >= 'a' && c <= 'z' ? c.charCodeAt(0) - 87 : 99;
    if (BigInt(d) >= base) return null;
    n = n * base + BigInt(d);
  }
  if (n > MAX_UINT64) return null;
  if (underscores && !underscoreOK(s)) return null;
  return n;
}

/** strconv.ParseInt(s, 0, 64). null on any error. */
export function parseGoInt(s: string): bigint | null {
  const neg = s[0] === '-';
  const u = parseGoUint(neg || s[0] === '+' ? s.slice(1) : s);
  if (u === null) return null;
  if (neg ? u > MAX_INT64 + 1n : u > MAX_INT64) return null;
  return neg ? -u : u;
}

/** strconv's underscoreOK: each `_` sits between digits (a base prefix counts as a digit). */
export function underscoreOK(s: string): boolean {
  let saw = '^'; // ^ start, 0 digit or prefix, _ underscore, ! other
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let i = 0;
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && 'box'.includes(s[1].toLowerCase())) {
    i = 2;
    saw = '0';
    hex = s[1].toLowerCase() === 'x';
  }
  for (; i < s.length; i++) {
    const c = s[i].toLowerCase();
    if ((c >= '0' && c <= '9') || (hex && c >= 'a' && c <= 'f')) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}
