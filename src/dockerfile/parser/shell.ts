/**
 * Docker's shell-word lexer (BuildKit frontend/dockerfile/shell): variable expansion with
 * `$x`, `${x}`, `${x:-w}`, `${x:+w}`, `${x-w}`, `${x+w}`, `${x:?w}`, `${x?w}`, `${x#p}`, `${x%p}`,
 * single/double quotes and the escape token, splitting into words where Docker does (unquoted
 * expansions split on whitespace; quotes glue). Expansion never runs commands.
 */
export type EnvLookup = ReadonlyMap<string, string> | readonly string[];

export interface ShellLexOptions {
  /** Keep quote characters in the result (heredoc detection). */
  rawQuotes?: boolean;
  /** Keep escape tokens in the result (heredoc detection). */
  rawEscapes?: boolean;
  /** Leave unset variables as written (`$x`, `${x}`), for heredoc names. */
  skipUnsetEnv?: boolean;
}

export class ShellError extends Error {}

const EOF = '';

function isSpace(ch: string): boolean {
  return /^\s$/u.test(ch);
}
function isDigit(ch: string): boolean {
  return /^\p{Nd}$/u.test(ch);
}
function isLetter(ch: string): boolean {
  return /^\p{L}$/u.test(ch);
}
function isSpecialParam(ch: string): boolean {
  return '@*#?-$!0'.includes(ch) && ch !== '';
}

/** Collects words like Go's wordsStruct: plain chars split on whitespace, raw chars never do. */
class Words {
  private word = '';
  private inWord = false;
  readonly words: string[] = [];
  addChar(ch: string): void {
    if (isSpace(ch)) this.addBlank();
    else {
      this.word += ch;
      this.inWord = true;
    }
  }
  addRawChar(ch: string): void {
    this.word += ch;
    this.inWord = true;
  }
  addString(s: string): void {
    for (const ch of s) this.addChar(ch);
  }
  addRawString(s: string): void {
    this.word += s;
    this.inWord = true;
  }
  addBlank(): void {
    if (this.inWord) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
  }
  get(): string[] {
    if (this.inWord) {
      this.words.push(this.word);
      this.word = '';
      this.inWord = false;
    }
    return this.words;
  }
}

/** Convert a shell glob (as in `${x#pat}`) to an anchored RegExp body. */
function globToRegex(pat: string, greedy: boolean): string {
  let re = '';
  const cps = Array.from(pat);
  for (let i = 0; i < cps.length; i++) {
    const c = cps[i];
    if (c === '*') re += greedy ? '.*' : '.*?';
    else if (c === '?') re += '.';
    else if (c === '\\' && i + 1 < cps.length) re += cps[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    else if (c === '[') {
      const end = cps.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let cls = cps.slice(i + 1, end).join('');
        if (cls.startsWith('!')) cls = '^' + cls.slice(1);
        re += `[${cls.replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return re;
}

class Scanner {
  private pos = 0;
  constructor(private readonly cps: string[]) {}
  peek(): string {
    return this.pos < this.cps.length ? this.cps[this.pos] : EOF;
  }
  next(): string {
    return this.pos < this.cps.length ? this.cps[this.pos++] : EOF;
  }
}

export class ShellLex {
  constructor(
    readonly escapeToken: string = '\\',
    readonly opts: ShellLexOptions = {},
  ) {}

  /** Expand `word` into one string (quotes removed, whitespace kept). */
  processWord(word: string, env: EnvLookup): string {
    return new ShellWord(word, this.escapeToken, env, this.opts).process().result;
  }

  /** Expand `word` and split it into words. */
  processWords(word: string, env: EnvLookup): string[] {
    return new ShellWord(word, this.escapeToken, env, this.opts).process().words;
  }
}

function envGetter(env: EnvLookup): (name: string) => string | undefined {
  if (!Array.isArray(env)) {
    const m = env as ReadonlyMap<string, string>;
    return (n) => m.get(n);
  }
  const list = env as readonly string[];
  return (n) => {
    for (const kv of list) {
      const i = kv.indexOf('=');
      if (i < 0) {
        if (kv === n) return '';
        continue;
      }
      if (kv.slice(0, i) === n) return kv.slice(i + 1);
    }
    return undefined;
  };
}

class ShellWord {
  private readonly sc: Scanner;
  private readonly getEnv: (name: string) => string | undefined;
  constructor(
    src: string,
    private readonly escape: string,
    env: EnvLookup,
    private readonly o: ShellLexOptions,
  ) {
    this.sc = new Scanner(Array.from(src));
    this.getEnv = envGetter(env);
  }

  process(): { result: string; words: string[] } {
    return this.processStopOn(EOF);
  }

  private processStopOn(stop: string): { result: string; words: string[] } {
    let result = '';
    const words = new Words();
    while (this.sc.peek() !== EOF) {
      const ch = this.sc.peek();
      if (stop !== EOF && ch === stop) {
        this.sc.next();
        return { result, words: words.get() };
      }
      if (ch === "'" || ch === '"' || ch === '$') {
        const tmp = ch === "'" ? this.singleQuote() : ch === '"' ? this.doubleQuote() : this.dollar();
        result += tmp;
        if (ch === '$') words.addString(tmp);
        else words.addRawString(tmp);
        continue;
      }
      let c = this.sc.next();
      if (c === this.escape) {
        if (this.o.rawEscapes) {
          words.addRawChar(c);
          result += c;
        }
        c = this.sc.next();
        if (c === EOF) break;
        words.addRawChar(c);
      } else words.addChar(c);
      result += c;
    }
    if (stop !== EOF) throw new ShellError(`unexpected end of statement while looking for matching ${stop}`);
    return { result, words: words.get() };
  }

  private singleQuote(): string {
    let result = '';
    let ch = this.sc.next();
    if (this.o.rawQuotes) result += ch;
    for (;;) {
      ch = this.sc.next();
      if (ch === EOF) throw new ShellError('unexpected end of statement while looking for matching single-quote');
      if (ch === "'") {
        if (this.o.rawQuotes) result += ch;
        return result;
      }
      result += ch;
    }
  }

  private doubleQuote(): string {
    let result = '';
    const open = this.sc.next();
    if (this.o.rawQuotes) result += open;
    for (;;) {
      const p = this.sc.peek();
      if (p === EOF) throw new ShellError('unexpected end of statement while looking for matching double-quote');
      if (p === '"') {
        const c = this.sc.next();
        if (this.o.rawQuotes) result += c;
        return result;
      }
      if (p === '$') {
        result += this.dollar();
        continue;
      }
      let c = this.sc.next();
      if (c === this.escape) {
        if (this.o.rawEscapes) result += c;
        const n = this.sc.peek();
        if (n === EOF) continue; // a trailing escape is dropped
        if (n === '"' || n === '$' || n === this.escape) c = this.sc.next();
      }
      result += c;
    }
  }

  private name(): string {
    let name = '';
    while (this.sc.peek() !== EOF) {
      const ch = this.sc.peek();
      if (name === '' && isDigit(ch)) {
        while (this.sc.peek() !== EOF && isDigit(this.sc.peek())) name += this.sc.next();
        return name;
      }
      if (name === '' && isSpecialParam(ch)) return this.sc.next();
      if (!isLetter(ch) && !isDigit(ch) && ch !== '_') break;
      name += this.sc.next();
    }
    return name;
  }

  private dollar(): string {
    this.sc.next();
    if (this.sc.peek() !== '{') {
      const name = this.name();
      if (name === '') return '$';
      const v = this.getEnv(name);
      if (v === undefined && this.o.skipUnsetEnv) return '$' + name;
      return v ?? '';
    }
    this.sc.next();
    const first = this.sc.peek();
    if (first === EOF) throw new ShellError("syntax error: missing '}'");
    if (first === '{' || first === '}' || first === ':') throw new ShellError('syntax error: bad substitution');
    const name = this.name();
    const ch = this.sc.next();
    const word = (): string => {
      try {
        return this.processStopOn('}').result;
      } catch (e) {
        if (this.sc.peek() === EOF) throw new ShellError("syntax error: missing '}'");
        throw e;
      }
    };
    const value = this.getEnv(name);
    const set = value !== undefined;
    switch (ch) {
      case '}':
        if (!set && this.o.skipUnsetEnv) return `\${${name}}`;
        return value ?? '';
      case '?': {
        const w = word();
        if (!set) throw new ShellError(`${name}: ${w || 'is not allowed to be unset'}`);
        return value as string;
      }
      case ':': {
        const mod = this.sc.next();
        const w = word();
        if (this.o.skipUnsetEnv && !set) return `\${${name}:${mod}${w}}`;
        const v = value ?? '';
        switch (mod) {
          case '+':
            return v !== '' ? w : v;
          case '-':
            return v === '' ? w : v;
          case '?':
            if (!set) throw new ShellError(`${name}: ${w || 'is not allowed to be unset'}`);
            if (v === '') throw new ShellError(`${name}: ${w || 'is not allowed to be empty'}`);
            return v;
          default:
            throw new ShellError(`unsupported modifier (${mod}) in substitution`);
        }
      }
      case '-':
      case '+': {
        const w = word();
        if (this.o.skipUnsetEnv && !set) return `\${${name}${ch}${w}}`;
        if (ch === '+') return set ? w : '';
        return set ? (value as string) : w;
      }
      case '#':
      case '%': {
        let greedy = false;
        if (this.sc.peek() === ch) {
          this.sc.next();
          greedy = true;
        }
        const w = word();
        if (this.o.skipUnsetEnv && !set) return `\${${name}${ch}${greedy ? ch : ''}${w}}`;
        const v = value ?? '';
        if (ch === '#') {
          const m = new RegExp('^' + globToRegex(w, greedy), 's').exec(v);
          return m ? v.slice(m[0].length) : v;
        }
        // suffix: try the shortest (or longest) suffix that matches
        const re = new RegExp('^' + globToRegex(w, true) + '$', 's');
        if (greedy) {
          for (let i = 0; i <= v.length; i++) if (re.test(v.slice(i))) return v.slice(0, i);
        } else {
          for (let i = v.length; i >= 0; i--) if (re.test(v.slice(i))) return v.slice(0, i);
        }
        return v;
      }
      default:
        if (ch === EOF) throw new ShellError("syntax error: missing '}'");
        throw new ShellError(`unsupported modifier (${ch}) in substitution`);
    }
  }
}
