/**
 * `.dockerignore` → exclude patterns (moby's dockerignore.ReadAll): `#` comment lines, trimmed
 * lines, `!` re-includes, paths cleaned and made relative. Every pattern is checked with Docker's
 * matcher (src/session/patterns.ts), so a bad one names its line before anything is sent.
 */
import { StapelkitError } from '../../errors';
import { BadPatternError, PatternMatcher } from '../../session/patterns';
import { cleanPath } from '../../util/gopath';

export function readDockerignore(text: string, file = '.dockerignore'): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  lines.forEach((raw, i) => {
    let p = i === 0 ? raw.replace(/^\uFEFF/, '') : raw;
    p = p.replace(/\r$/, '');
    if (p.startsWith('#')) return;
    p = p.trim();
    if (p === '') return;
    const invert = p[0] === '!';
    if (invert) p = p.slice(1).trim();
    if (p.length > 0) {
      p = cleanPath(p);
      if (p.length > 1 && p[0] === '/') p = p.slice(1);
    }
    if (invert) p = '!' + p;
    try {
      new PatternMatcher([p]);
    } catch (e) {
      if (e instanceof BadPatternError) {
        throw new StapelkitError('DOCKERIGNORE_PATTERN', `bad pattern ${JSON.stringify(raw.trim())}: ${e.message}`, { pos: { file, line: i + 1, column: 1 } });
      }
      throw e;
    }
    out.push(p);
  });
  return out;
}
