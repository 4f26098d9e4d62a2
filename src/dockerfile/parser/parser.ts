/**
 * Dockerfile → AST of instruction nodes with positions (BuildKit frontend/dockerfile/parser):
 * parser directives at the top (`# syntax=`, `# escape=`, `# check=`), whole-line comments (also
 * inside continuations), the escape token's line continuations, empty continuation lines (joined,
 * with a warning), builder flags (`--x=y`) with their own positions, and heredocs after RUN, COPY
 * and ADD. Argument parsing per instruction is left to ../instructions.
 */
import { StapelkitError } from '../../errors';
import { ShellLex } from './shell';

export interface Pos {
  line: number; // 1-based
  column: number; // 1-based
}

export interface Range {
  start: Pos;
  end: Pos;
}

export interface RawFlag {
  /** As written after unquoting: `--from=build`. */
  text: string;
  pos: Pos;
}

export interface Heredoc {
  name: string;
  /** Lines up to the terminator, each ending in "\n". */
  content: string;
  /** False when the name was quoted (`<<"EOF"`): no variable expansion. */
  expand: boolean;
  /** `<<-`: leading tabs are stripped. */
  chomp: boolean;
  fileDescriptor: number;
}

export interface Node {
  /** Lower-case instruction name (`run`). */
  cmd: string;
  /** Instruction name as written. */
  name: string;
  /** The whole logical line (continuations joined, comments dropped). */
  original: string;
  flags: RawFlag[];
  /** Everything after the flags. */
  rest: string;
  /** Where `rest` starts. */
  restPos: Pos;
  range: Range;
  heredocs: Heredoc[];
  /** Comment lines right above the instruction. */
  comments: string[];
  /** Map an offset into `original` to its source position. */
  posAt(offset: number): Pos;
}

export interface Warning {
  message: string;
  range: Range;
}

export interface ParseResult {
  nodes: Node[];
  /** Parser directives by lower-case name (`syntax`, `escape`, `check`). */
  directives: Record<string, { value: string; line: number }>;
  escapeToken: string;
  warnings: Warning[];
}

export interface ParseOptions {
  /** Name for messages (default `Dockerfile`). */
  file?: string;
}

const DIRECTIVE_RE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
const KNOWN_DIRECTIVES = new Set(['syntax', 'escape', 'check']);
const HEREDOC_RE = /^(\d*)<<(-?)([^<]*)$/;
const HEREDOC_INSTRUCTIONS = new Set(['run', 'copy', 'add']);

/** Go's unicode.IsSpace over a string's start. */
function trimLeadingWhitespace(s: string): string {
  return s.replace(/^\s+/u, '');
}

function isComment(line: string): boolean {
  return trimLeadingWhitespace(line).startsWith('#');
}

export function parseError(file: string, pos: Pos | undefined, message: string, quote?: string, hint?: string): StapelkitError {
  const q = quote !== undefined ? `: ${quote.length > 120 ? quote.slice(0, 117) + '...' : quote}` : '';
  return new StapelkitError('DOCKERFILE_PARSE', `${message}${q}`, { pos: { file, line: pos?.line, column: pos?.column }, hint });
}

class Directives {
  escapeToken = '\\';
  private continuation = /\\[ \t]*$/;
  done = false;
  readonly seen: Record<string, { value: string; line: number }> = {};

  constructor(private readonly file: string) {}

  setEscape(value: string, line: number): void {
    if (value !== '`' && value !== '\\') throw parseError(this.file, { line, column: 1 }, `invalid escape token '${value}' does not match \` or \\`);
    this.escapeToken = value;
    this.continuation = new RegExp('\\' + value + '[ \\t]*$');
  }

  /** A continuation removes the escape token (and trailing blanks); false when the line ends. */
  trimContinuation(line: string): { line: string; more: boolean } {
    if (this.continuation.test(line)) return { line: line.replace(this.continuation, ''), more: true };
    return { line, more: false };
  }

  possible(line: string, lineNo: number): void {
    if (this.done) return;
    const m = DIRECTIVE_RE.exec(line);
    if (!m) {
      this.done = true;
      return;
    }
    const key = m[1].toLowerCase();
    if (!KNOWN_DIRECTIVES.has(key)) {
      this.done = true;
      return;
    }
    if (this.seen[key]) throw parseError(this.file, { line: lineNo, column: 1 }, `only one ${key} parser directive can be used`);
    this.seen[key] = { value: m[2], line: lineNo };
    if (key === 'escape') this.setEscape(m[2], lineNo);
  }
}

interface Segment {
  off: number;
  line: number;
  col: number;
}

function posIn(segments: Segment[], off: number): Pos {
  let s = segments[0];
  for (const seg of segments) {
    if (seg.off <= off) s = seg;
    else break;
  }
  return { line: s.line, column: s.col + (off - s.off) };
}

/** extractBuilderFlags: leading `--x` words (quotes and escapes removed), then the rest of the line. */
export function extractBuilderFlags(line: string): { flags: { text: string; off: number }[]; restOff: number } {
  const flags: { text: string; off: number }[] = [];
  let phase: 'spaces' | 'word' | 'quote' = 'spaces';
  let word = '';
  let wordStart = 0;
  let quote = '';
  let blankOK = false;
  for (let pos = 0; pos <= line.length; pos++) {
    let ch = pos < line.length ? line[pos] : '';
    if (phase === 'spaces') {
      if (pos === line.length) break;
      if (/\s/.test(ch)) continue;
      if (ch !== '-' || pos + 1 === line.length || line[pos + 1] !== '-') return { flags, restOff: pos };
      phase = 'word';
      wordStart = pos;
    }
    if (pos === line.length) {
      if (word !== '--' && (blankOK || word.length > 0)) flags.push({ text: word, off: wordStart });
      return { flags, restOff: line.length };
    }
    if (phase === 'word') {
      if (/\s/.test(ch)) {
        phase = 'spaces';
        if (word === '--') return { flags, restOff: pos };
        if (blankOK || word.length > 0) flags.push({ text: word, off: wordStart });
        word = '';
        blankOK = false;
        continue;
      }
      if (ch === "'" || ch === '"') {
        quote = ch;
        blankOK = true;
        phase = 'quote';
        continue;
      }
      if (ch === '\\') {
        if (pos + 1 === line.length) continue;
        ch = line[++pos];
      }
      word += ch;
      continue;
    }
    // in quote
    if (ch === quote) {
      phase = 'word';
      continue;
    }
    if (ch === '\\') {
      if (pos + 1 === line.length) {
        phase = 'word';
        continue;
      }
      ch = line[++pos];
    }
    word += ch;
  }
  return { flags, restOff: line.length };
}

/** The heredoc a word like `<<EOF`, `<<-"EOF"`, `3<<EOF` introduces, if any. */
export function parseHeredocWord(word: string): Omit<Heredoc, 'content'> | undefined {
  const m = HEREDOC_RE.exec(word);
  if (!m || m[3] === '') return undefined;
  const lex = new ShellLex('\\', { skipUnsetEnv: true });
  let words: string[];
  let raw: string[];
  try {
    words = lex.processWords(m[3], []);
    if (words.length !== 1) return undefined;
    raw = new ShellLex('\\', { skipUnsetEnv: true, rawQuotes: true }).processWords(m[3], []);
  } catch {
    return undefined;
  }
  if (raw.length !== words.length) return undefined;
  const quotes = (s: string) => (s.match(/['"]/g) ?? []).length;
  return { name: words[0], expand: quotes(words[0]) === quotes(raw[0]), chomp: m[2] === '-', fileDescriptor: m[1] ? Number(m[1]) : 0 };
}

/** Heredocs a logical line opens, in order. */
export function heredocsFromLine(line: string): Omit<Heredoc, 'content'>[] {
  let words: string[];
  try {
    words = new ShellLex('\\', { rawQuotes: true, rawEscapes: true }).processWords(line, []);
  } catch {
    return [];
  }
  const out: Omit<Heredoc, 'content'>[] = [];
  for (const w of words) {
    const h = parseHeredocWord(w);
    if (h) out.push(h);
  }
  return out;
}

/** Strip leading tabs from every line (`<<-`). */
export function chompHeredocContent(s: string): string {
  return s.replace(/^\t+/gm, '');
}

export function parse(text: string, opts: ParseOptions = {}): ParseResult {
  const file = opts.file ?? 'Dockerfile';
  const lines = text.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop(); // a final newline ends the last line
  if (lines.length > 0) lines[0] = lines[0].replace(/^\uFEFF/, '');
  const d = new Directives(file);
  const nodes: Node[] = [];
  const warnings: Warning[] = [];
  let comments: string[] = [];
  let i = 0;

  const processLine = (raw: string, lineNo: number, stripLeft: boolean): string => {
    let tok = raw.replace(/[\r\n]+$/, '');
    if (stripLeft) tok = trimLeadingWhitespace(tok);
    d.possible(tok, lineNo);
    return isComment(tok) ? '' : tok;
  };

  while (i < lines.length) {
    const raw = lines[i];
    const lineNo = ++i;
    if (isComment(raw)) {
      const c = trimLeadingWhitespace(raw).slice(1).trim();
      if (c === '') comments = [];
      else comments.push(c);
    }
    const stripped = processLine(raw, lineNo, true);
    const lead = raw.replace(/[\r\n]+$/, '').length - trimLeadingWhitespace(raw.replace(/[\r\n]+$/, '')).length;
    const segments: Segment[] = [{ off: 0, line: lineNo, col: lead + 1 }];
    let { line, more } = d.trimContinuation(stripped);
    if (!more && line.trim() === '') {
      if (!isComment(raw)) comments = [];
      continue;
    }
    let endLine = lineNo;
    let endCol = raw.length + 1;
    let emptyContinuation = false;
    while (more && i < lines.length) {
      const craw = lines[i];
      const cno = ++i;
      const tok = processLine(craw, cno, false);
      if (isComment(craw)) continue;
      if (trimLeadingWhitespace(tok) === '') {
        emptyContinuation = true;
        continue;
      }
      const t = d.trimContinuation(tok);
      segments.push({ off: line.length, line: cno, col: 1 });
      line += t.line;
      more = t.more;
      endLine = cno;
      endCol = craw.length + 1;
    }
    const posAt = (off: number) => posIn(segments, off);

    // splitCommand: instruction name, then builder flags, then the rest
    const startOff = line.length - line.replace(/^\s+/, '').length;
    const trimmed = line.trim();
    const nameMatch = /^\S+/.exec(trimmed);
    const name = nameMatch ? nameMatch[0] : '';
    let afterName = startOff + name.length;
    while (afterName < line.length && /[\t\v\f\r ]/.test(line[afterName])) afterName++;
    const argsText = line.slice(afterName).replace(/\s+$/, '');
    const ex = extractBuilderFlags(argsText);
    const node: Node = {
      cmd: name.toLowerCase(),
      name,
      original: line,
      flags: ex.flags.map((f) => ({ text: f.text, pos: posAt(afterName + f.off) })),
      rest: argsText.slice(ex.restOff),
      restPos: posAt(afterName + ex.restOff),
      range: { start: posAt(startOff), end: { line: endLine, column: endCol } },
      heredocs: [],
      comments,
      posAt,
    };
    comments = [];
    if (emptyContinuation) warnings.push({ message: `Empty continuation line found in: ${line}`, range: node.range });

    if (HEREDOC_INSTRUCTIONS.has(node.cmd)) {
      for (const h of heredocsFromLine(line)) {
        let content = '';
        let terminated = false;
        while (i < lines.length) {
          const hraw = lines[i];
          i++;
          let term = hraw.replace(/[\r\n]+$/, '');
          if (h.chomp) term = term.replace(/^\t+/, '');
          if (term === h.name) {
            terminated = true;
            break;
          }
          content += hraw + '\n';
        }
        if (!terminated) {
          throw parseError(file, node.range.start, `unterminated heredoc "${h.name}" (no line "${h.name}" up to the end of the file, line ${i})`, line.trim());
        }
        node.heredocs.push({ ...h, content });
        node.range.end = { line: i, column: (lines[i - 1]?.length ?? 0) + 1 };
      }
    }
    nodes.push(node);
  }
  return { nodes, directives: d.seen, escapeToken: d.escapeToken, warnings };
}
