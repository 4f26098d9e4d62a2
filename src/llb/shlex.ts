/**
 * Shell-word splitting as Go's llb.Shlex does it (google/shlex): whitespace separates words,
 * single quotes are literal, double quotes allow backslash escapes, a backslash outside quotes
 * escapes the next character, and `#` at the start of a word begins a comment. No expansion.
 */
import { StapelkitError } from '../errors';

export function splitShellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const fail = (why: string) => new StapelkitError('LLB_INVALID', `cannot split command line ${JSON.stringify(line)}: ${why}`);
  while (i < line.length) {
    const ch = line[i];
    if (/\s/.test(ch)) {
      if (inWord) {
        words.push(word);
        word = '';
        inWord = false;
      }
      i++;
    } else if (ch === '#' && !inWord) {
      const nl = line.indexOf('\n', i);
      i = nl < 0 ? line.length : nl + 1;
    } else if (ch === '\\') {
      if (i + 1 >= line.length) throw fail('trailing backslash');
      word += line[i + 1];
      inWord = true;
      i += 2;
    } else if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw fail('unclosed single quote');
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
    } else if (ch === '"') {
      i++;
      inWord = true;
      for (;;) {
        if (i >= line.length) throw fail('unclosed double quote');
        const c = line[i];
        if (c === '"') {
          i++;
          break;
        }
        if (c === '\\' && i + 1 < line.length) {
          word += line[i + 1];
          i += 2;
        } else {
          word += c;
          i++;
        }
      }
    } else {
      word += ch;
      inWord = true;
      i++;
    }
  }
  if (inWord) words.push(word);
  return words;
}
