/**
 * `.dockerignore` → exclude patterns, read the way Docker reads it: `#` comments at the start of a
 * line, surrounding spaces trimmed, empty lines skipped, each pattern path-cleaned with a leading
 * `/` dropped (patterns are relative to the context), `!` kept in front of exceptions.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { PatternMatcher } from '../session/patterns';
import { cleanPath } from '../util/gopath';

/** Patterns of a .dockerignore text; `file` only names the file in error messages. */
export function parseDockerignore(text: string, file = '.dockerignore'): string[] {
  const out: string[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let line = lines[i].replace(/\r$/, '');
    if (i === 0) line = line.replace(/^\uFEFF/, '');
    if (line.startsWith('#')) continue;
    let pattern = line.trim();
    if (pattern === '') continue;
    const invert = pattern.startsWith('!');
    if (invert) pattern = pattern.slice(1).trim();
    if (pattern !== '') {
      pattern = cleanPath(pattern);
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
    }
    if (invert) pattern = `!${pattern}`;
    try {
      // Refuse what the daemon's matcher would refuse, but with the line it came from.
      new PatternMatcher([pattern]);
    } catch (e) {
      throw new StapelkitError('DOCKERIGNORE', (e as Error).message, { pos: { file, line: i + 1 }, cause: e });
    }
    out.push(pattern);
  }
  return out;
}

/** The exclude patterns of `<dir>/.dockerignore`, or [] when there is none. */
export function readDockerignore(dir: string): string[] {
  const file = path.join(dir, '.dockerignore');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new StapelkitError('DOCKERIGNORE', `cannot read ${file}: ${(e as Error).message}`, { cause: e });
  }
  return parseDockerignore(text, file);
}
