/**
 * Argument shapes of Dockerfile instructions (BuildKit parser/line_parsers.go): raw words that keep
 * quotes for later expansion, JSON-or-shell forms, `key=value` lists (with the legacy `KEY value`
 * form), whitespace-delimited lists.
 */
export class ArgError extends Error {}

export const NOT_STRING_ARRAY = 'when using JSON array syntax, arrays must be comprised of strings only';

/** parseWords: split on whitespace outside quotes; quotes and escapes stay in the words. */
export function parseWords(rest: string, escape: string): string[] {
  const words: string[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let quote = '';
  let blankOK = false;
  const cps = Array.from(rest);
  for (let pos = 0; pos <= cps.length; pos++) {
    let ch = pos < cps.length ? cps[pos] : '';
    if (phase === 'spaces') {
      if (pos === cps.length) break;
      if (/^\s$/u.test(ch)) continue;
      phase = 'word';
    }
    if (pos === cps.length) {
      if (blankOK || word.length > 0) words.push(word);
      break;
    }
    if (phase === 'word') {
      if (/^\s$/u.test(ch)) {
        phase = 'spaces';
        if (blankOK || word.length > 0) words.push(word);
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
      }
      if (ch === escape) {
        if (pos + 1 === cps.length) continue;
        word += ch;
        ch = cps[++pos];
      }
      word += ch;
      continue;
    }
    if (ch === quote) phase = 'word';
    if (ch === escape && quote !== "'") {
      if (pos + 1 === cps.length) {
        phase = 'word';
        continue;
      }
      word += ch;
      ch = cps[++pos];
    }
    word += ch;
  }
  return words;
}

/** A JSON array of strings, or undefined when `rest` is not JSON (shell form). Throws on non-strings. */
export function parseJSONArray(rest: string): string[] | undefined {
  const t = rest.replace(/^[ \t]+/, '');
  if (!t.startsWith('[')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (!Array.isArray(v)) return undefined;
  if (!v.every((x) => typeof x === 'string')) throw new ArgError(NOT_STRING_ARRAY);
  return v as string[];
}

export type CommandLine = { json: true; args: string[] } | { json: false; shell: string };

/** parseMaybeJSON: exec form (JSON) or shell form (the text as written). */
export function parseMaybeJSON(rest: string): CommandLine {
  const a = parseJSONArray(rest);
  if (a !== undefined) return { json: true, args: a };
  return { json: false, shell: rest };
}

/** parseStringsWhitespaceDelimited. */
export function splitWhitespace(rest: string): string[] {
  return rest.split(/[\t\v\f\r ]+/).filter((w) => w !== '');
}

/** parseMaybeJSONToList: a JSON array, or whitespace-delimited words. */
export function parseMaybeJSONToList(rest: string): { json: boolean; list: string[] } {
  const a = parseJSONArray(rest);
  if (a !== undefined) return { json: true, list: a };
  return { json: false, list: splitWhitespace(rest) };
}

export interface KeyValue {
  key: string;
  value: string;
}

/** parseNameVal (ENV, LABEL): `k=v k2="v 2"` or the legacy `KEY value with spaces`. */
export function parseNameVal(rest: string, what: string, escape: string): KeyValue[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) throw new ArgError(`${what} requires at least one argument`);
  if (!words[0].includes('=')) {
    const parts = rest.trim().split(/[\t\v\f\r ]+/);
    if (parts.length < 2) throw new ArgError(`${what} must have two arguments`);
    const m = /^(\S+)[\t\v\f\r ]+([\s\S]*)$/.exec(rest.trim());
    return [{ key: m![1], value: m![2] }];
  }
  return words.map((w) => {
    const i = w.indexOf('=');
    if (i < 0) throw new ArgError(`Syntax error - can't find = in "${w}". Must be of the form: name=value`);
    return { key: w.slice(0, i), value: w.slice(i + 1) };
  });
}

/** parseNameOrNameVal (ARG): `name` or `name=value`, one or more. */
export function parseNameOrNameVal(rest: string, escape: string): { key: string; value?: string }[] {
  const words = parseWords(rest, escape);
  if (words.length === 0) throw new ArgError('ARG requires exactly one argument');
  return words.map((w) => {
    const i = w.indexOf('=');
    return i < 0 ? { key: w } : { key: w.slice(0, i), value: w.slice(i + 1) };
  });
}
