/**
 * Lexer and parser with the behaviour of Go's text/template/parse (Go 1.19–1.22 syntax): trim
 * markers, comments, raw strings, numbers/chars, pipelines with declarations, if/else if/range/with/
 * define/template/block, break/continue. Node positions are JS string indices into the source;
 * line/column are computed on demand the way Go does (column = byte offset within the line).
 */
import { goQuote, isGoPrint } from './fmt';
import { parseGoInt, parseGoUint, underscoreOK } from './strconv';
import { goByteLength, goString } from './bytes';

export enum T {
  Error,
  Bool,
  Char,
  CharConstant,
  Comment,
  Complex,
  Assign,
  Declare,
  EOF,
  Field,
  Identifier,
  LeftDelim,
  LeftParen,
  Number,
  Pipe,
  RawString,
  RightDelim,
  RightParen,
  Space,
  String,
  Text,
  Variable,
  Keyword, // marker: keywords follow
  Block,
  Break,
  Continue,
  Dot,
  Define,
  Else,
  End,
  If,
  Nil,
  Range,
  Template,
  With,
}

const keywords: Record<string, T> = {
  '.': T.Dot,
  block: T.Block,
  break: T.Break,
  continue: T.Continue,
  define: T.Define,
  else: T.Else,
  end: T.End,
  if: T.If,
  range: T.Range,
  nil: T.Nil,
  template: T.Template,
  with: T.With,
};

export interface Item {
  typ: T;
  pos: number;
  val: string;
  line: number;
}

function goQuoteShort(s: string, maxRunes?: number): string {
  let r = [...s];
  if (maxRunes !== undefined && r.length > maxRunes) r = r.slice(0, maxRunes);
  return quoteForItem(r.join(''));
}

function quoteForItem(s: string): string {
  // %q of a Go string
  return goQuote(s);
}

export function itemString(i: Item): string {
  if (i.typ === T.EOF) return 'EOF';
  if (i.typ === T.Error) return i.val;
  if (i.typ > T.Keyword) return `<${i.val}>`;
  if ([...i.val].length > 10) return goQuoteShort(i.val, 10) + '...';
  return goQuoteShort(i.val);
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isAlphaNumeric = (c: string | undefined) => c !== undefined && (c === '_' || /^[\p{L}\p{Nd}]$/u.test(c));

function describeRune(c: string): string {
  const cp = c.codePointAt(0)!;
  const hex = 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
  return isGoPrint(cp) ? `${hex} '${c}'` : hex;
}

class Lexer {
  items: Item[] = [];
  pos = 0;
  start = 0;
  parenDepth = 0;
  private lineStarts: number[] = [0];
  constructor(
    readonly name: string,
    readonly input: string,
    readonly leftDelim = '{{',
    readonly rightDelim = '}}',
    readonly breakOK = true,
    readonly continueOK = true,
  ) {
    for (let i = 0; i < input.length; i++) if (input[i] === '\n') this.lineStarts.push(i + 1);
    this.run();
  }
  lineAt(pos: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
  private emit(typ: T) {
    this.items.push({ typ, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.lineAt(this.start) });
    this.start = this.pos;
  }
  private ignore() {
    this.start = this.pos;
  }
  private errorf(msg: string): null {
    this.items.push({ typ: T.Error, pos: this.start, val: msg, line: this.lineAt(this.start) });
    return null;
  }
  private next(): string | undefined {
    if (this.pos >= this.input.length) {
      this.pos = this.input.length + 1; // so backup() works after EOF like Go's width=0
      return undefined;
    }
    const cp = this.input.codePointAt(this.pos)!;
    const ch = String.fromCodePoint(cp);
    this.pos += ch.length;
    this.lastWidth = ch.length;
    return ch;
  }
  private lastWidth = 0;
  private backup() {
    if (this.pos > this.input.length) this.pos = this.input.length;
    else this.pos -= this.lastWidth;
  }
  private peek(): string | undefined {
    if (this.pos >= this.input.length) return undefined;
    return String.fromCodePoint(this.input.codePointAt(this.pos)!);
  }
  private accept(valid: string): boolean {
    const c = this.peek();
    if (c !== undefined && valid.includes(c)) {
      this.next();
      return true;
    }
    return false;
  }
  private acceptRun(valid: string) {
    for (;;) {
      const c = this.peek();
      if (c === undefined || !valid.includes(c)) return;
      this.next();
    }
  }
  private hasLeftTrimMarker(at: number): boolean {
    return this.input[at] === '-' && isSpace(this.input[at + 1]);
  }
  private hasRightTrimMarker(at: number): boolean {
    return isSpace(this.input[at]) && this.input[at + 1] === '-';
  }
  private atRightDelim(): [boolean, boolean] {
    if (this.hasRightTrimMarker(this.pos) && this.input.startsWith(this.rightDelim, this.pos + 2)) return [true, true];
    if (this.input.startsWith(this.rightDelim, this.pos)) return [true, false];
    return [false, false];
  }
  private atTerminator(): boolean {
    const r = this.peek();
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:()'.includes(r)) return true;
    return this.input.startsWith(this.rightDelim, this.pos);
  }

  private run() {
    let state: null | (() => unknown) = () => this.lexText();
    while (state) state = state() as null | (() => unknown);
  }

  private lexText(): (() => unknown) | null {
    const x = this.input.indexOf(this.leftDelim, this.pos);
    if (x >= 0) {
      this.pos = x;
      let trimLength = 0;
      if (this.hasLeftTrimMarker(x + this.leftDelim.length)) {
        const text = this.input.slice(this.start, this.pos);
        trimLength = text.length - text.replace(/[ \t\r\n]+$/, '').length;
      }
      this.pos -= trimLength;
      if (this.pos > this.start) this.emit(T.Text);
      this.pos += trimLength;
      this.ignore();
      return () => this.lexLeftDelim();
    }
    this.pos = this.input.length;
    if (this.pos > this.start) this.emit(T.Text);
    this.emit(T.EOF);
    return null;
  }

  private lexLeftDelim() {
    this.pos += this.leftDelim.length;
    const trimSpace = this.hasLeftTrimMarker(this.pos);
    const afterMarker = trimSpace ? 2 : 0;
    if (this.input.startsWith('/*', this.pos + afterMarker)) {
      this.pos += afterMarker;
      this.ignore();
      return () => this.lexComment();
    }
    this.emit(T.LeftDelim);
    this.pos += afterMarker;
    this.ignore();
    this.parenDepth = 0;
    return () => this.lexInsideAction();
  }

  private lexComment() {
    this.pos += 2;
    const x = this.input.indexOf('*/', this.pos);
    if (x < 0) return this.errorf('unclosed comment');
    this.pos = x + 2;
    const [delim, trimSpace] = this.atRightDelim();
    if (!delim) return this.errorf('comment ends before closing delimiter');
    if (trimSpace) this.pos += 2;
    this.pos += this.rightDelim.length;
    if (trimSpace) this.pos += this.leftTrimLength(this.pos);
    this.ignore();
    return () => this.lexText();
  }

  private leftTrimLength(at: number): number {
    let i = at;
    while (i < this.input.length && isSpace(this.input[i])) i++;
    return i - at;
  }

  private lexRightDelim() {
    const trimSpace = this.hasRightTrimMarker(this.pos);
    if (trimSpace) {
      this.pos += 2;
      this.ignore();
    }
    this.pos += this.rightDelim.length;
    this.emit(T.RightDelim);
    if (trimSpace) {
      this.pos += this.leftTrimLength(this.pos);
      this.ignore();
    }
    return () => this.lexText();
  }

  private lexInsideAction(): (() => unknown) | null {
    const [delim] = this.atRightDelim();
    if (delim) {
      if (this.parenDepth === 0) return () => this.lexRightDelim();
      return this.errorf('unclosed left paren');
    }
    const r = this.next();
    if (r === undefined) return this.errorf('unclosed action');
    if (isSpace(r)) {
      this.backup();
      return () => this.lexSpace();
    }
    if (r === '=') this.emit(T.Assign);
    else if (r === ':') {
      if (this.next() !== '=') return this.errorf('expected :=');
      this.emit(T.Declare);
    } else if (r === '|') this.emit(T.Pipe);
    else if (r === '"') return () => this.lexQuoted('"', T.String, 'quoted string');
    else if (r === '`') return () => this.lexRawQuote();
    else if (r === '$') return () => this.lexVariable();
    else if (r === "'") return () => this.lexQuoted("'", T.CharConstant, 'character constant');
    else if (r === '.' && this.pos < this.input.length && !(this.input[this.pos] >= '0' && this.input[this.pos] <= '9')) {
      return () => this.lexFieldOrVariable(T.Field);
    } else if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup();
      return () => this.lexNumber();
    } else if (isAlphaNumeric(r)) {
      this.backup();
      return () => this.lexIdentifier();
    } else if (r === '(') {
      this.emit(T.LeftParen);
      this.parenDepth++;
    } else if (r === ')') {
      this.emit(T.RightParen);
      this.parenDepth--;
      if (this.parenDepth < 0) return this.errorf(`unexpected right paren ${describeRune(r)}`);
    } else if (r.codePointAt(0)! <= 0x7f && isGoPrint(r.codePointAt(0)!)) {
      this.emit(T.Char);
    } else {
      return this.errorf(`unrecognized character in action: ${describeRune(r)}`);
    }
    return () => this.lexInsideAction();
  }

  private lexSpace() {
    let numSpaces = 0;
    while (isSpace(this.peek())) {
      this.next();
      numSpaces++;
    }
    if (this.hasRightTrimMarker(this.pos - 1) && this.input.startsWith(this.rightDelim, this.pos - 1 + 2)) {
      this.pos -= 1;
      if (numSpaces === 1) return () => this.lexRightDelim();
    }
    this.emit(T.Space);
    return () => this.lexInsideAction();
  }

  private lexIdentifier() {
    for (;;) {
      const r = this.next();
      if (isAlphaNumeric(r)) continue;
      this.backup();
      const word = this.input.slice(this.start, this.pos);
      if (!this.atTerminator()) return this.errorf(`bad character ${describeRune(r ?? '\u0000')}`);
      const kw = keywords[word];
      if (kw !== undefined && kw > T.Keyword) {
        if ((kw === T.Break && !this.breakOK) || (kw === T.Continue && !this.continueOK)) this.emit(T.Identifier);
        else this.emit(kw);
      } else if (word[0] === '.') this.emit(T.Field);
      else if (word === 'true' || word === 'false') this.emit(T.Bool);
      else this.emit(T.Identifier);
      return () => this.lexInsideAction();
    }
  }

  private lexVariable() {
    if (this.atTerminator()) {
      this.emit(T.Variable);
      return () => this.lexInsideAction();
    }
    return this.lexFieldOrVariable(T.Variable);
  }

  private lexFieldOrVariable(typ: T) {
    if (this.atTerminator()) {
      this.emit(typ === T.Variable ? T.Variable : T.Dot);
      return () => this.lexInsideAction();
    }
    let r: string | undefined;
    for (;;) {
      r = this.next();
      if (!isAlphaNumeric(r)) {
        this.backup();
        break;
      }
    }
    if (!this.atTerminator()) return this.errorf(`bad character ${describeRune(r ?? '\u0000')}`);
    this.emit(typ);
    return () => this.lexInsideAction();
  }

  /** A '…' or "…" literal: backslash escapes anything but a newline; no newline inside. */
  private lexQuoted(close: string, typ: T, what: string) {
    for (;;) {
      const c = this.next();
      if (c === '\\') {
        const r = this.next();
        if (r !== undefined && r !== '\n') continue;
        return this.errorf(`unterminated ${what}`);
      }
      if (c === undefined || c === '\n') return this.errorf(`unterminated ${what}`);
      if (c === close) break;
    }
    this.emit(typ);
    return () => this.lexInsideAction();
  }

  private lexNumber() {
    if (!this.scanNumber()) return this.errorf(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
    const sign = this.peek();
    if (sign === '+' || sign === '-') {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') {
        return this.errorf(`bad number syntax: ${goQuote(this.input.slice(this.start, this.pos))}`);
      }
      this.emit(T.Complex);
    } else this.emit(T.Number);
    return () => this.lexInsideAction();
  }

  private scanNumber(): boolean {
    this.accept('+-');
    const decimal = '0123456789_';
    const hex = '0123456789abcdefABCDEF_';
    let digits = decimal;
    if (this.accept('0')) {
      if (this.accept('xX')) digits = hex;
      else if (this.accept('oO')) digits = '01234567_';
      else if (this.accept('bB')) digits = '01_';
    }
    this.acceptRun(digits);
    if (this.accept('.')) this.acceptRun(digits);
    if (digits === decimal && this.accept('eE')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    if (digits === hex && this.accept('pP')) {
      this.accept('+-');
      this.acceptRun('0123456789_');
    }
    this.accept('i');
    if (isAlphaNumeric(this.peek())) {
      this.next();
      return false;
    }
    return true;
  }

  private lexRawQuote() {
    for (;;) {
      const c = this.next();
      if (c === undefined) return this.errorf('unterminated raw quoted string');
      if (c === '`') break;
    }
    this.emit(T.RawString);
    return () => this.lexInsideAction();
  }
}

// ---------------- nodes ----------------

export type Node =
  | TextNode
  | ActionNode
  | PipeNode
  | CommandNode
  | IdentifierNode
  | VariableNode
  | DotNode
  | NilNode
  | FieldNode
  | ChainNode
  | BoolNode
  | NumberNode
  | StringNode
  | EndNode
  | ElseNode
  | IfNode
  | RangeNode
  | WithNode
  | TemplateNode
  | BreakNode
  | ContinueNode
  | ListNode;

interface Base {
  pos: number;
  tree: Tree;
}
export interface ListNode extends Base { type: 'list'; nodes: Node[] }
export interface TextNode extends Base { type: 'text'; text: string }
export interface ActionNode extends Base { type: 'action'; line: number; pipe: PipeNode }
export interface PipeNode extends Base { type: 'pipe'; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export interface CommandNode extends Base { type: 'command'; args: Node[] }
export interface IdentifierNode extends Base { type: 'identifier'; ident: string }
export interface VariableNode extends Base { type: 'variable'; ident: string[] }
export interface DotNode extends Base { type: 'dot' }
export interface NilNode extends Base { type: 'nil' }
export interface FieldNode extends Base { type: 'field'; ident: string[] }
export interface ChainNode extends Base { type: 'chain'; node: Node; field: string[] }
export interface BoolNode extends Base { type: 'bool'; value: boolean }
export interface NumberNode extends Base {
  type: 'number';
  text: string;
  isInt: boolean;
  isUint: boolean;
  isFloat: boolean;
  isComplex: boolean;
  int64: bigint;
  uint64: bigint;
  float64: number;
}
export interface StringNode extends Base { type: 'string'; quoted: string; text: string }
export interface EndNode extends Base { type: 'end' }
export interface ElseNode extends Base { type: 'else'; line: number }
export interface BranchFields extends Base { line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | null }
export interface IfNode extends BranchFields { type: 'if' }
export interface RangeNode extends BranchFields { type: 'range' }
export interface WithNode extends BranchFields { type: 'with' }
export interface TemplateNode extends Base { type: 'template'; line: number; name: string; pipe: PipeNode | null }
export interface BreakNode extends Base { type: 'break'; line: number }
export interface ContinueNode extends Base { type: 'continue'; line: number }

export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('');
    case 'text':
      return n.text;
    case 'action':
      return '{{' + nodeString(n.pipe) + '}}';
    case 'pipe': {
      let s = '';
      if (n.decl.length > 0) s += n.decl.map(nodeString).join(', ') + ' := ';
      return s + n.cmds.map(nodeString).join(' | ');
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? '(' + nodeString(a) + ')' : nodeString(a))).join(' ');
    case 'identifier':
      return n.ident;
    case 'variable':
      return n.ident.join('.');
    case 'dot':
      return '.';
    case 'nil':
      return 'nil';
    case 'field':
      return n.ident.map((i) => '.' + i).join('');
    case 'chain':
      return (n.node.type === 'pipe' ? '(' + nodeString(n.node) + ')' : nodeString(n.node)) + n.field.map((f) => '.' + f).join('');
    case 'bool':
      return n.value ? 'true' : 'false';
    case 'number':
      return n.text;
    case 'string':
      return n.quoted;
    case 'end':
      return '{{end}}';
    case 'else':
      return '{{else}}';
    case 'if':
    case 'range':
    case 'with': {
      let s = `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}`;
      if (n.elseList) s += '{{else}}' + nodeString(n.elseList);
      return s + '{{end}}';
    }
    case 'template':
      return n.pipe ? `{{template ${goQuote(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${goQuote(n.name)}}}`;
    case 'break':
      return '{{break}}';
    case 'continue':
      return '{{continue}}';
  }
}

// ---------------- parser ----------------

export class Tree {
  root!: ListNode;
  constructor(
    public name: string,
    readonly parseName: string,
    readonly text: string,
  ) {}
  private _lineStarts?: number[];
  /** Go's ErrorContext location: `name:line:col`, col = byte offset in the line. */
  location(pos: number): { line: number; col: number } {
    const before = this.text.slice(0, pos);
    const nl = before.lastIndexOf('\n');
    const lineText = nl < 0 ? before : before.slice(nl + 1);
    return { line: this.lineOf(pos), col: goByteLength(lineText) };
  }
  /** 1-based line of a position (for source maps). */
  lineOf(pos: number): number {
    if (!this._lineStarts) {
      this._lineStarts = [0];
      for (let i = 0; i < this.text.length; i++) if (this.text[i] === '\n') this._lineStarts.push(i + 1);
    }
    const ls = this._lineStarts;
    let lo = 0;
    let hi = ls.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ls[mid] <= pos) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

export class ParseError extends Error {
  constructor(
    message: string,
    readonly parseName: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** parse.IsEmptyTree: only whitespace text (a template that does not replace an existing one). */
export function isEmptyTree(n: Node): boolean {
  switch (n.type) {
    case 'list':
      return n.nodes.every(isEmptyTree);
    case 'text':
      return n.text.trim().length === 0;
    default:
      return false;
  }
}

/**
 * Parse `text` as template `name`; returns every tree it defines (the main one plus `define`/`block`
 * bodies), keyed by name, like parse.Parse.
 */
export function parseTemplate(name: string, text: string, hasFunction: (name: string) => boolean): Map<string, Tree> {
  const treeSet = new Map<string, Tree>();
  const p = new Parser(name, name, text, hasFunction, treeSet);
  p.parseMain();
  return treeSet;
}

class Parser {
  private items: Item[];
  private token: Item[] = [];
  private peekCount = 0;
  private vars: string[] = ['$'];
  private actionLine = 0;
  private rangeDepth = 0;
  tree: Tree;

  constructor(
    name: string,
    readonly parseName: string,
    readonly text: string,
    readonly hasFunction: (name: string) => boolean,
    readonly treeSet: Map<string, Tree>,
    shared?: { items: Item[]; idxRef: { idx: number } },
  ) {
    this.tree = new Tree(name, parseName, text);
    if (shared) {
      this.items = shared.items;
      this.shared = shared.idxRef;
    } else {
      const lex = new Lexer(parseName, text, '{{', '}}', !hasFunction('break'), !hasFunction('continue'));
      this.items = lex.items;
      this.shared = { idx: 0 };
    }
  }
  private shared: { idx: number };

  private lexNext(): Item {
    const it = this.items[this.shared.idx];
    if (it.typ !== T.EOF && it.typ !== T.Error) this.shared.idx++;
    return it;
  }

  private next(): Item {
    if (this.peekCount > 0) this.peekCount--;
    else this.token[0] = this.lexNext();
    return this.token[this.peekCount];
  }
  private backup() {
    this.peekCount++;
  }
  private backup2(t1: Item) {
    this.token[1] = t1;
    this.peekCount = 2;
  }
  private backup3(t2: Item, t1: Item) {
    this.token[1] = t1;
    this.token[2] = t2;
    this.peekCount = 3;
  }
  private peek(): Item {
    if (this.peekCount > 0) return this.token[this.peekCount - 1];
    this.peekCount = 1;
    this.token[0] = this.lexNext();
    return this.token[0];
  }
  private nextNonSpace(): Item {
    let t: Item;
    for (;;) {
      t = this.next();
      if (t.typ !== T.Space) break;
    }
    return t;
  }
  private peekNonSpace(): Item {
    const t = this.nextNonSpace();
    this.backup();
    return t;
  }

  private errorf(msg: string): never {
    const line = this.token[0]?.line ?? 1;
    throw new ParseError(`template: ${this.parseName}:${line}: ${msg}`, this.parseName, line);
  }
  private expect(expected: T, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== expected) this.unexpected(token, context);
    return token;
  }
  private expectOneOf(e1: T, e2: T, context: string): Item {
    const token = this.nextNonSpace();
    if (token.typ !== e1 && token.typ !== e2) this.unexpected(token, context);
    return token;
  }
  private unexpected(token: Item, context: string): never {
    if (token.typ === T.Error) {
      let extra = '';
      if (this.actionLine !== 0 && this.actionLine !== token.line) {
        extra = ` in action started at ${this.parseName}:${this.actionLine}`;
        if (token.val.endsWith(' action')) extra = extra.slice(' in action'.length);
      }
      this.errorf(`${token.val}${extra}`);
    }
    this.errorf(`unexpected ${itemString(token)} in ${context}`);
  }

  private mk<N extends Node>(n: Omit<N, 'tree'>): N {
    return { ...n, tree: this.tree } as N;
  }

  parseMain() {
    this.tree.root = this.mk<ListNode>({ type: 'list', pos: this.peek().pos, nodes: [] });
    while (this.peek().typ !== T.EOF) {
      if (this.peek().typ === T.LeftDelim) {
        const delim = this.next();
        if (this.nextNonSpace().typ === T.Define) {
          const sub = new Parser('definition', this.parseName, this.text, this.hasFunction, this.treeSet, {
            items: this.items,
            idxRef: this.shared,
          });
          sub.parseDefinition();
          continue;
        }
        this.backup2(delim);
      }
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') this.errorf(`unexpected ${nodeString(n)}`);
      this.tree.root.nodes.push(n);
    }
    this.add();
  }

  private add() {
    const t = this.treeSet.get(this.tree.name);
    if (!t || isEmptyTree(t.root)) {
      this.treeSet.set(this.tree.name, this.tree);
      return;
    }
    if (!isEmptyTree(this.tree.root)) this.errorf(`template: multiple definition of template ${goQuote(this.tree.name)}`);
  }

  parseDefinition() {
    const context = 'define clause';
    const name = this.expectOneOf(T.String, T.RawString, context);
    this.tree.name = unquoteGo(name.val, (m) => this.errorf(m));
    this.expect(T.RightDelim, context);
    const [list, end] = this.itemList();
    this.tree.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    this.add();
  }

  private itemList(): [ListNode, Node] {
    const list = this.mk<ListNode>({ type: 'list', pos: this.peekNonSpace().pos, nodes: [] });
    while (this.peekNonSpace().typ !== T.EOF) {
      const n = this.textOrAction();
      if (n.type === 'end' || n.type === 'else') return [list, n];
      list.nodes.push(n);
    }
    this.errorf('unexpected EOF');
  }

  private textOrAction(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Text:
        return this.mk<TextNode>({ type: 'text', pos: token.pos, text: token.val });
      case T.LeftDelim: {
        this.actionLine = token.line;
        try {
          return this.action();
        } finally {
          this.actionLine = 0;
        }
      }
    }
    this.unexpected(token, 'input');
  }

  private action(): Node {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Block:
        return this.blockControl();
      case T.Break:
        return this.breakControl(token, 'break');
      case T.Continue:
        return this.breakControl(token, 'continue');
      case T.Else:
        return this.elseControl();
      case T.End:
        return this.mk<EndNode>({ type: 'end', pos: this.expect(T.RightDelim, 'end').pos });
      case T.If:
        return this.branch('if', true);
      case T.Range:
        return this.branch('range', false);
      case T.Template:
        return this.templateControl();
      case T.With:
        return this.branch('with', false);
    }
    this.backup();
    const t = this.peek();
    return this.mk<ActionNode>({ type: 'action', pos: t.pos, line: t.line, pipe: this.pipeline('command', T.RightDelim) });
  }

  private breakControl(token: Item, kind: 'break' | 'continue'): Node {
    const t = this.nextNonSpace();
    if (t.typ !== T.RightDelim) this.unexpected(t, `{{${kind}}}`);
    if (this.rangeDepth === 0) this.errorf(`{{${kind}}} outside {{range}}`);
    return this.mk<BreakNode | ContinueNode>({ type: kind, pos: token.pos, line: token.line } as never);
  }

  private elseControl(): Node {
    // "else if" and (Go 1.23) "else with": leave the keyword pending for the enclosing control
    const peek = this.peekNonSpace();
    if (peek.typ === T.If || peek.typ === T.With) return this.mk<ElseNode>({ type: 'else', pos: peek.pos, line: peek.line });
    const token = this.expect(T.RightDelim, 'else');
    return this.mk<ElseNode>({ type: 'else', pos: token.pos, line: token.line });
  }

  private branch(context: 'if' | 'range' | 'with', allowElseIf: boolean): Node {
    const mark = this.vars.length;
    try {
      const pipe = this.pipeline(context, T.RightDelim);
      if (context === 'range') this.rangeDepth++;
      let [list, next] = this.itemList();
      if (context === 'range') this.rangeDepth--;
      let elseList: ListNode | null = null;
      if (next.type === 'else') {
        if (allowElseIf && this.peek().typ === T.If) {
          this.next();
          elseList = this.mk<ListNode>({ type: 'list', pos: next.pos, nodes: [] });
          elseList.nodes.push(this.branch('if', true));
        } else if (context === 'with' && this.peek().typ === T.With) {
          this.next();
          elseList = this.mk<ListNode>({ type: 'list', pos: next.pos, nodes: [] });
          elseList.nodes.push(this.branch('with', false));
        } else {
          [elseList, next] = this.itemList();
          if (next.type !== 'end') this.errorf(`expected end; found ${nodeString(next)}`);
        }
      }
      return this.mk<IfNode | RangeNode | WithNode>({ type: context, pos: pipe.pos, line: pipe.line, pipe, list, elseList } as never);
    } finally {
      this.vars.length = mark;
    }
  }

  private parseTemplateName(token: Item, context: string): string {
    if (token.typ === T.String || token.typ === T.RawString) return unquoteGo(token.val, (m) => this.errorf(m));
    this.unexpected(token, context);
  }

  private templateControl(): Node {
    const context = 'template clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    let pipe: PipeNode | null = null;
    if (this.nextNonSpace().typ !== T.RightDelim) {
      this.backup();
      pipe = this.pipeline(context, T.RightDelim);
    }
    return this.mk<TemplateNode>({ type: 'template', pos: token.pos, line: token.line, name, pipe });
  }

  private blockControl(): Node {
    const context = 'block clause';
    const token = this.nextNonSpace();
    const name = this.parseTemplateName(token, context);
    const pipe = this.pipeline(context, T.RightDelim);
    const sub = new Parser(name, this.parseName, this.text, this.hasFunction, this.treeSet, { items: this.items, idxRef: this.shared });
    const [list, end] = sub.itemList();
    sub.tree.root = list;
    if (end.type !== 'end') this.errorf(`unexpected ${nodeString(end)} in ${context}`);
    sub.add();
    return this.mk<TemplateNode>({ type: 'template', pos: token.pos, line: token.line, name, pipe });
  }

  private pipeline(context: string, end: T): PipeNode {
    const token = this.peekNonSpace();
    const pipe = this.mk<PipeNode>({ type: 'pipe', pos: token.pos, line: token.line, isAssign: false, decl: [], cmds: [] });
    decls: for (;;) {
      const v = this.peekNonSpace();
      if (v.typ === T.Variable) {
        this.next();
        const tokenAfterVariable = this.peek();
        const next = this.peekNonSpace();
        if (next.typ === T.Assign || next.typ === T.Declare) {
          pipe.isAssign = next.typ === T.Assign;
          this.nextNonSpace();
          pipe.decl.push(this.mk<VariableNode>({ type: 'variable', pos: v.pos, ident: v.val.split('.') }));
          this.vars.push(v.val);
        } else if (next.typ === T.Char && next.val === ',') {
          this.nextNonSpace();
          pipe.decl.push(this.mk<VariableNode>({ type: 'variable', pos: v.pos, ident: v.val.split('.') }));
          this.vars.push(v.val);
          if (context === 'range' && pipe.decl.length < 2) {
            const pk = this.peekNonSpace().typ;
            if (pk === T.Variable || pk === T.RightDelim || pk === T.RightParen) continue decls;
            this.errorf('range can only initialize variables');
          }
          this.errorf(`too many declarations in ${context}`);
        } else if (tokenAfterVariable.typ === T.Space) {
          this.backup3(v, tokenAfterVariable);
        } else {
          this.backup2(v);
        }
      }
      break;
    }
    for (;;) {
      const token = this.nextNonSpace();
      if (token.typ === end) {
        this.checkPipeline(pipe, context);
        return pipe;
      }
      switch (token.typ) {
        case T.Bool:
        case T.CharConstant:
        case T.Complex:
        case T.Dot:
        case T.Field:
        case T.Identifier:
        case T.Number:
        case T.Nil:
        case T.RawString:
        case T.String:
        case T.Variable:
        case T.LeftParen:
          this.backup();
          pipe.cmds.push(this.command());
          break;
        default:
          this.unexpected(token, context);
      }
    }
  }

  private checkPipeline(pipe: PipeNode, context: string) {
    if (pipe.cmds.length === 0) this.errorf(`missing value for ${context}`);
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0].type;
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') {
        this.errorf(`non executable command in pipeline stage ${i + 2}`);
      }
    });
  }

  private command(): CommandNode {
    const cmd = this.mk<CommandNode>({ type: 'command', pos: this.peekNonSpace().pos, args: [] });
    for (;;) {
      this.peekNonSpace();
      const operand = this.operand();
      if (operand) cmd.args.push(operand);
      const token = this.next();
      if (token.typ === T.Space) continue;
      if (token.typ === T.RightDelim || token.typ === T.RightParen) this.backup();
      else if (token.typ !== T.Pipe) this.unexpected(token, 'operand');
      break;
    }
    if (cmd.args.length === 0) this.errorf('empty command');
    return cmd;
  }

  private operand(): Node | null {
    let node = this.term();
    if (!node) return null;
    if (this.peek().typ === T.Field) {
      const chain = this.mk<ChainNode>({ type: 'chain', pos: this.peek().pos, node, field: [] });
      while (this.peek().typ === T.Field) chain.field.push(this.next().val.slice(1));
      switch (node.type) {
        case 'field':
          node = this.mk<FieldNode>({ type: 'field', pos: chain.pos, ident: nodeString(chain).slice(1).split('.') });
          break;
        case 'variable':
          node = this.mk<VariableNode>({ type: 'variable', pos: chain.pos, ident: nodeString(chain).split('.') });
          break;
        case 'bool':
        case 'string':
        case 'number':
        case 'nil':
        case 'dot':
          this.errorf(`unexpected . after term ${goQuote(nodeString(node))}`);
        // eslint-disable-next-line no-fallthrough
        default:
          node = chain;
      }
    }
    return node;
  }

  private term(): Node | null {
    const token = this.nextNonSpace();
    switch (token.typ) {
      case T.Identifier:
        if (!this.hasFunction(token.val)) this.errorf(`function ${goQuote(token.val)} not defined`);
        return this.mk<IdentifierNode>({ type: 'identifier', pos: token.pos, ident: token.val });
      case T.Dot:
        return this.mk<DotNode>({ type: 'dot', pos: token.pos });
      case T.Nil:
        return this.mk<NilNode>({ type: 'nil', pos: token.pos });
      case T.Variable: {
        const v = this.mk<VariableNode>({ type: 'variable', pos: token.pos, ident: token.val.split('.') });
        if (!this.vars.includes(v.ident[0])) this.errorf(`undefined variable ${goQuote(v.ident[0])}`);
        return v;
      }
      case T.Field:
        return this.mk<FieldNode>({ type: 'field', pos: token.pos, ident: token.val.slice(1).split('.') });
      case T.Bool:
        return this.mk<BoolNode>({ type: 'bool', pos: token.pos, value: token.val === 'true' });
      case T.CharConstant:
      case T.Complex:
      case T.Number:
        return this.newNumber(token);
      case T.LeftParen:
        return this.pipeline('parenthesized pipeline', T.RightParen);
      case T.String:
      case T.RawString:
        return this.mk<StringNode>({ type: 'string', pos: token.pos, quoted: token.val, text: unquoteGo(token.val, (m) => this.errorf(m)) });
    }
    this.backup();
    return null;
  }

  private newNumber(token: Item): NumberNode {
    const text = token.val;
    const n = this.mk<NumberNode>({
      type: 'number', pos: token.pos, text, isInt: false, isUint: false, isFloat: false, isComplex: false,
      int64: 0n, uint64: 0n, float64: 0,
    });
    if (token.typ === T.CharConstant) {
      const r = unquoteChar(text.slice(1), "'");
      if (!r) this.errorf('invalid syntax');
      if (r.tail !== "'") this.errorf(`malformed character constant: ${text}`);
      n.int64 = BigInt(r.cp);
      n.isInt = true;
      n.uint64 = BigInt(r.cp);
      n.isUint = true;
      n.float64 = r.cp;
      n.isFloat = true;
      return n;
    }
    if (token.typ === T.Complex || text.endsWith('i')) {
      // Complex constants have no use in a werf config; Stapelkit rejects them at parse time.
      this.errorf(`complex number constants are not supported by Stapelkit: ${goQuote(text)}`);
    }
    const u = parseGoUint(text);
    if (u !== null) {
      n.isUint = true;
      n.uint64 = u;
    }
    const i = parseGoInt(text);
    if (i !== null) {
      n.isInt = true;
      n.int64 = i;
      if (i === 0n) {
        n.isUint = true;
        n.uint64 = u ?? 0n;
      }
    }
    if (n.isInt) {
      n.isFloat = true;
      n.float64 = Number(n.int64);
    } else if (n.isUint) {
      n.isFloat = true;
      n.float64 = Number(n.uint64);
    } else {
      const f = parseGoFloat(text);
      if (f !== null) {
        if (!/[.eEpP]/.test(text)) this.errorf(`integer overflow: ${goQuote(text)}`);
        n.isFloat = true;
        n.float64 = f;
        if (Number.isInteger(f) && Math.abs(f) < 2 ** 63) {
          n.isInt = true;
          n.int64 = BigInt(f);
        }
        if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) {
          n.isUint = true;
          n.uint64 = BigInt(f);
        }
      }
    }
    if (!n.isInt && !n.isUint && !n.isFloat) this.errorf(`illegal number syntax: ${goQuote(text)}`);
    return n;
  }
}

function parseGoFloat(text: string): number | null {
  if (text.includes('_') && !underscoreOK(text)) return null;
  const s = text.replace(/_/g, '');
  if (/^[+-]?0[xX]/.test(s)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
    if (!m) return null;
    const mant = parseInt((m[2] || '0') + (m[3] || ''), 16) / 16 ** (m[3] || '').length;
    const v = mant * 2 ** Number(m[4]);
    return m[1] === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return null;
  const v = Number(s);
  if (!Number.isFinite(v)) return null;
  return v;
}

/** strconv.UnquoteChar: one (possibly escaped) character; null on bad syntax. */
export function unquoteChar(s: string, quote: string): { cp: number; tail: string } | null {
  if (s.length === 0) return null;
  const c = s.codePointAt(0)!;
  if (String.fromCodePoint(c) === quote && (quote === "'" || quote === '"')) return null;
  if (c !== 0x5c) {
    const ch = String.fromCodePoint(c);
    return { cp: c, tail: s.slice(ch.length) };
  }
  if (s.length <= 1) return null;
  const e = s[1];
  let rest = s.slice(2);
  const simple: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };
  if (e in simple) return { cp: simple[e], tail: rest };
  if (e === "'" || e === '"') {
    if (e !== quote) return null;
    return { cp: e.charCodeAt(0), tail: rest };
  }
  if (e === 'x' || e === 'u' || e === 'U') {
    const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
    const hex = rest.slice(0, n);
    if (hex.length < n || !/^[0-9a-fA-F]+$/.test(hex)) return null;
    const v = parseInt(hex, 16);
    if (e !== 'x' && (v > 0x10ffff || (v >= 0xd800 && v < 0xe000))) return null;
    rest = rest.slice(n);
    return { cp: v, tail: rest, ...(e === 'x' ? { byte: true } : {}) } as { cp: number; tail: string };
  }
  if (e >= '0' && e <= '7') {
    const oct = s.slice(1, 4);
    if (!/^[0-7]{3}$/.test(oct)) return null;
    const v = parseInt(oct, 8);
    if (v > 255) return null;
    return { cp: v, tail: s.slice(4), byte: true } as { cp: number; tail: string };
  }
  return null;
}

/** strconv.Unquote for "…" and `…` literals. Byte escapes (\x, octal) are bytes of the Go string (see bytes.ts). */
export function unquoteGo(lit: string, fail: (msg: string) => never): string {
  if (lit[0] === '`') {
    if (lit.length < 2 || lit[lit.length - 1] !== '`') fail('invalid syntax');
    return lit.slice(1, -1).replace(/\r/g, '');
  }
  if (lit.length < 2 || lit[0] !== '"' || lit[lit.length - 1] !== '"') fail('invalid syntax');
  let s = lit.slice(1, -1);
  const bytes: number[] = [];
  while (s.length > 0) {
    const r = unquoteChar(s, '"') as ({ cp: number; tail: string; byte?: boolean } | null);
    if (!r) fail('invalid syntax');
    if (r.byte) bytes.push(r.cp);
    else for (const b of Buffer.from(String.fromCodePoint(r.cp), 'utf8')) bytes.push(b);
    s = r.tail;
  }
  return goString(Buffer.from(bytes));
}

