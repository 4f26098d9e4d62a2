/**
 * Execution with the semantics of Go's text/template exec.go (Go 1.19 + range-over-int from 1.22):
 * field/map/method evaluation, argument conversion and type checks with Go's error wording,
 * pipelines with the previous value as the final argument, variables and scopes, if/with/range,
 * break/continue, {{template}}, printing, and errors located as `template: NAME:LINE:COL: executing
 * "TMPL" at <NODE>: …`.
 */
import {
  ChainNode, CommandNode, FieldNode, IdentifierNode, ListNode, Node, NumberNode, PipeNode, RangeNode, TemplateNode, Tree,
  VariableNode, isEmptyTree, nodeString, parseTemplate,
} from './parse';
import { GoError, GoFunc, GoInt, GoList, GoMap, GoStruct, GoTime, Value, goTypeName, int } from './value';
import { sprintValue } from './fmt';
import { formatLayout, timeString } from './gotime';
import { goNormalize } from './bytes';

/** A value as text/template holds it: `iface` = its static type is interface {} (came from a map/slice of interface {}). */
export interface RV {
  v: Value;
  iface?: boolean;
}

const MISSING: RV = { v: undefined };
const INVALID: RV = { v: undefined };

export class ExecError extends Error {
  /** A more specific error code carried from a function's error (e.g. TEMPLATE_ENV). */
  code?: string;
  /** The error inside an include/tpl call that caused this one (innermost location for users). */
  inner?: ExecError;
  constructor(
    message: string,
    readonly tree: Tree | null,
    readonly pos: number | null,
  ) {
    super(message);
  }
}

/** Where an output line's first character came from: a position in a template tree. */
export interface LineOrigin {
  tree: Tree;
  pos: number;
}

/** Output sink that also records, per output line, the template file/line that produced its first character. */
export class Writer {
  chunks: string[] = [];
  lineMap: LineOrigin[] = [];
  private atLineStart = true;
  constructor(readonly track: boolean) {}
  /**
   * `origin`, for a printed value, may name a better source for a line starting at offset i of `s`
   * (a line an include produced); otherwise a value's lines map to the action at `pos`.
   */
  write(s: string, tree: Tree | null, pos: number, literal: boolean, origin?: (i: number) => LineOrigin | undefined) {
    if (s.length === 0) return;
    this.chunks.push(s);
    if (!this.track || !tree) return;
    let i = 0;
    for (;;) {
      if (this.atLineStart && i < s.length) this.lineMap.push(literal ? { tree, pos: pos + i } : (origin?.(i) ?? { tree, pos }));
      const nl = s.indexOf('\n', i);
      if (nl < 0) {
        this.atLineStart = false;
        break;
      }
      i = nl + 1;
      this.atLineStart = true;
      if (i >= s.length) break;
    }
  }
  text(): string {
    // pieces may split a multi-byte sequence that is whole again once joined
    return goNormalize(this.chunks.join(''));
  }
}

/** The text an include/tpl call returned and its writer's line map (one entry per line, in order). */
interface Produced {
  text: string;
  map: LineOrigin[];
  lines?: string[]; // text split in lines, made when first needed
}

/**
 * Remembers what include/tpl calls produced so that, when an action prints that text (as is or
 * re-indented by indent/nindent), the output line map points into the partial instead of at the call.
 */
export class OriginLog {
  private produced: Produced[] = [];
  private byText = new Map<string, Produced>();
  /** `keep(tree)`: whether lines from this tree are worth pointing at (a file the user can open). */
  constructor(private readonly keep: (tree: Tree) => boolean) {}

  record(text: string, map: LineOrigin[]): void {
    const p: Produced = { text, map };
    this.produced.push(p);
    this.byText.set(text, p);
  }

  mark(): number {
    return this.produced.length;
  }

  private origin(p: Produced, line: number): LineOrigin | undefined {
    const o = p.map[line];
    return o && this.keep(o.tree) ? o : undefined;
  }

  /**
   * Origins for the lines of printed text `s`, by offset of the line start: from the call outputs
   * recorded since `mark` (made by the action's own pipeline) or, failing that, one whose text is
   * exactly `s` (e.g. held in a variable). undefined: no call output to look at.
   */
  matcher(s: string, mark: number): ((i: number) => LineOrigin | undefined) | undefined {
    let cands = this.produced.slice(mark);
    if (cands.length === 0) {
      const exact = this.byText.get(s);
      if (!exact) return undefined;
      cands = [exact];
    }
    if (cands.length === 1 && cands[0].text === s) {
      // printed as produced: line k of s is line k of the call's output
      let line = 0;
      let from = 0;
      return (i) => {
        for (let nl = s.indexOf('\n', from); nl >= 0 && nl < i; nl = s.indexOf('\n', from)) {
          line++;
          from = nl + 1;
        }
        return this.origin(cands[0], line);
      };
    }
    // Otherwise match lines in order: an output line matches a produced line that it equals after
    // indentation. Blank lines only match at the cursor, so they cannot skip ahead.
    const cursor = cands.map(() => 0);
    let cur = 0;
    return (i) => {
      const nl = s.indexOf('\n', i);
      const end = nl < 0 ? s.length : nl;
      const blank = isIndented(s, i, end, '');
      for (let k = cur; k < cands.length; k++) {
        const lines = (cands[k].lines ??= cands[k].text.split('\n'));
        for (let j = cursor[k]; j < lines.length; j++) {
          if (isIndented(s, i, end, lines[j])) {
            cur = k;
            cursor[k] = j + 1;
            return this.origin(cands[k], j);
          }
          if (blank) return undefined;
        }
      }
      return undefined;
    };
  }
}

/** Whether s[start:end] is `body` after some spaces/tabs (indent/nindent's doing). */
function isIndented(s: string, start: number, end: number, body: string): boolean {
  const bodyStart = end - body.length;
  if (bodyStart < start || !s.startsWith(body, bodyStart)) return false;
  for (let k = start; k < bodyStart; k++) if (s[k] !== ' ' && s[k] !== '\t') return false;
  return true;
}

class BreakSignal {}
class ContinueSignal {}
const BREAK = new BreakSignal();
const CONTINUE = new ContinueSignal();

/** The template set: named trees plus the function map (shared by every template, like Go's common). */
export class TemplateSet {
  trees = new Map<string, Tree>();
  funcs = new Map<string, GoFunc>();
  execDepth = 0;
  /** How deep include/tpl/template calls may nest before Stapelkit stops (Go would overflow its stack). */
  maxDepth = 200;
  /** Set while rendering with a tracked writer: include/tpl output origins for the line map. */
  origins: OriginLog | null = null;

  hasFunction = (name: string): boolean => this.funcs.has(name);

  /** Template.New(name).Parse(text): adds every tree, keeping an existing template when the new one is empty. */
  parse(name: string, text: string): void {
    const trees = parseTemplate(name, text, this.hasFunction);
    for (const [n, tree] of trees) {
      const old = this.trees.get(n);
      if (old && isEmptyTree(tree.root)) continue;
      this.trees.set(n, tree);
    }
    if (!this.trees.has(name) && !trees.has(name)) {
      // Go registers the named template even when the text only holds defines.
      const t = new Tree(name, name, text);
      t.root = { type: 'list', pos: 0, nodes: [], tree: t };
      this.trees.set(name, t);
    }
  }

  execute(name: string, data: Value, writer: Writer, owner: string): void {
    const tree = this.trees.get(name);
    if (!tree) throw new GoError(`template: no template ${goQuoteStr(name)} associated with template ${goQuoteStr(owner)}`);
    if (this.execDepth >= this.maxDepth) {
      throw new GoError(`template: ${name}: exceeded maximum template call depth (${this.maxDepth}) of Stapelkit`);
    }
    this.execDepth++;
    try {
      const s = new State(this, tree, writer);
      s.vars = [{ name: '$', value: { v: data } }];
      s.walk({ v: data }, tree.root);
    } finally {
      this.execDepth--;
    }
  }
}

function goQuoteStr(s: string): string {
  return JSON.stringify(s);
}

interface Variable {
  name: string;
  value: RV;
}

class State {
  node: Node | null = null;
  vars: Variable[] = [];
  depth = 0;
  constructor(
    readonly set: TemplateSet,
    public tmpl: Tree,
    readonly wr: Writer,
  ) {}

  at(n: Node) {
    this.node = n;
  }

  /** s.errorf's error: located at the current node, naming the executing template. */
  execError(msg: string): ExecError {
    const name = this.tmpl.name;
    if (!this.node) return new ExecError(`template: ${name}: ${msg}`, this.tmpl, null);
    const tree = this.node.tree;
    const loc = tree.location(this.node.pos);
    return new ExecError(
      `template: ${tree.parseName}:${loc.line}:${loc.col}: executing ${goQuoteStr(name)} at <${nodeString(this.node)}>: ${msg}`,
      tree,
      this.node.pos,
    );
  }

  errorf(msg: string): never {
    throw this.execError(msg);
  }

  mark() {
    return this.vars.length;
  }
  pop(mark: number) {
    this.vars.length = mark;
  }
  push(name: string, value: RV) {
    this.vars.push({ name, value });
  }
  setVar(name: string, value: RV) {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i].name === name) {
        this.vars[i].value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }
  setTopVar(n: number, value: RV) {
    this.vars[this.vars.length - n].value = value;
  }
  varValue(name: string): RV {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i].name === name) return this.vars[i].value;
    this.errorf(`undefined variable: ${name}`);
  }

  walk(dot: RV, node: Node): void {
    this.at(node);
    switch (node.type) {
      case 'action': {
        const mark = this.set.origins?.mark() ?? 0;
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val, mark);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'if':
      case 'with':
        return this.walkIfOrWith(node.type, dot, node.pipe, node.list, node.elseList);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.wr.write(node.text, node.tree, node.pos, true);
        return;
    }
    this.errorf(`unknown node: ${nodeString(node)}`);
  }

  walkIfOrWith(typ: 'if' | 'with', dot: RV, pipe: PipeNode, list: ListNode, elseList: ListNode | null) {
    const mark = this.mark();
    try {
      const val = this.evalPipeline(dot, pipe);
      const [truth, ok] = isTrue(val.v);
      if (!ok) this.errorf(`if/with can't use ${sprintValue(val.v)}`);
      if (truth) this.walk(typ === 'with' ? val : dot, list);
      else if (elseList) this.walk(dot, elseList);
    } finally {
      this.pop(mark);
    }
  }

  walkRange(dot: RV, r: RangeNode) {
    this.at(r);
    const outer = this.mark();
    try {
      const val = this.evalPipeline(dot, r.pipe);
      const mark = this.mark();
      const one = (index: RV, elem: RV): boolean => {
        if (r.pipe.decl.length > 0) this.setTopVar(1, elem);
        if (r.pipe.decl.length > 1) this.setTopVar(2, index);
        try {
          this.walk(elem, r.list);
        } catch (e) {
          if (e === CONTINUE) return true;
          if (e === BREAK) return false;
          throw e;
        } finally {
          this.pop(mark);
        }
        return true;
      };
      const v = val.v;
      if (v instanceof GoList) {
        if (v.items.length > 0) {
          const iface = v.elem === 'interface {}';
          for (let i = 0; i < v.items.length; i++) if (!one({ v: int(i) }, { v: v.items[i], iface })) break;
          return;
        }
      } else if (v instanceof GoMap) {
        if (v.size > 0) {
          const iface = v.elem === 'interface {}';
          const kiface = v.key === 'interface {}';
          for (const e of v.sorted()) if (!one({ v: e.k, iface: kiface }, { v: e.v, iface })) break;
          return;
        }
      } else if (v instanceof GoInt) {
        // Go 1.22: range over an integer yields 0..n-1 (of the integer's type).
        if (r.pipe.decl.length > 1) this.errorf(`can't use ${sprintValue(v)} to iterate over more than one variable`);
        if (v.v > 0n) {
          for (let i = 0n; i < v.v; i++) if (!one({ v: new GoInt(i, v.kind) }, { v: new GoInt(i, v.kind) })) break;
          return;
        }
      } else if (v === undefined || v === null) {
        // An invalid value is likely a nil map, etc. Not an error.
      } else {
        this.errorf(`range can't iterate over ${sprintValue(v)}`);
      }
      if (r.elseList) this.walk(dot, r.elseList);
    } finally {
      this.pop(outer);
    }
  }

  walkTemplate(dot: RV, t: TemplateNode) {
    this.at(t);
    const tmpl = this.set.trees.get(t.name);
    if (!tmpl) this.errorf(`template ${goQuoteStr(t.name)} not defined`);
    if (this.set.execDepth + this.depth >= this.set.maxDepth) {
      this.errorf(`exceeded maximum template depth (${this.set.maxDepth}) of Stapelkit`);
    }
    const newDot = this.evalPipeline(dot, t.pipe);
    const ns = new State(this.set, tmpl, this.wr);
    ns.depth = this.depth + 1;
    ns.vars = [{ name: '$', value: newDot }];
    ns.walk(newDot, tmpl.root);
  }

  evalPipeline(dot: RV, pipe: PipeNode | null): RV {
    if (!pipe) return INVALID;
    this.at(pipe);
    let value: RV = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Values of static type interface {} are unwrapped; a nil one becomes "no value".
      if (value.v === null) value = INVALID;
      else if (value.iface) value = { v: value.v };
    }
    for (const variable of pipe.decl) {
      if (pipe.isAssign) this.setVar(variable.ident[0], value);
      else this.push(variable.ident[0], value);
    }
    return value;
  }

  notAFunction(args: Node[], final: RV) {
    if (args.length > 1 || final !== MISSING) this.errorf(`can't give argument to non-function ${nodeString(args[0])}`);
  }

  evalCommand(dot: RV, cmd: CommandNode, final: RV): RV {
    const first = cmd.args[0];
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.type) {
      case 'bool':
        return { v: first.value };
      case 'dot':
        return dot;
      case 'nil':
        this.errorf('nil is not a command');
      // eslint-disable-next-line no-fallthrough
      case 'number':
        return this.idealConstant(first);
      case 'string':
        return { v: first.text };
    }
    this.errorf(`can't evaluate command ${goQuoteStr(nodeString(first))}`);
  }

  idealConstant(c: NumberNode): RV {
    this.at(c);
    const isHexInt = /^[+-]?0[xX]/.test(c.text) && !/[pP]/.test(c.text);
    const isRuneInt = c.text.startsWith("'");
    if (c.isFloat && !isHexInt && !isRuneInt && /[.eEpP]/.test(c.text)) return { v: c.float64 };
    if (c.isInt) return { v: new GoInt(c.int64, 'int') };
    if (c.isUint) this.errorf(`${c.text} overflows int`);
    return INVALID;
  }

  evalFieldNode(dot: RV, field: FieldNode, args: Node[], final: RV): RV {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.ident, args, final);
  }

  evalChainNode(dot: RV, chain: ChainNode, args: Node[], final: RV): RV {
    this.at(chain);
    if (chain.field.length === 0) this.errorf('internal error: no fields in evalChainNode');
    if (chain.node.type === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, null, chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final);
  }

  evalVariableNode(dot: RV, variable: VariableNode, args: Node[], final: RV): RV {
    this.at(variable);
    const value = this.varValue(variable.ident[0]);
    if (variable.ident.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final);
  }

  evalFieldChain(dot: RV, receiver: RV, node: Node, ident: string[], args: Node[], final: RV): RV {
    const n = ident.length;
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i], node, [], MISSING, receiver);
    return this.evalField(dot, ident[n - 1], node, args, final, receiver);
  }

  evalField(dot: RV, fieldName: string, node: Node, args: Node[], final: RV, receiver: RV): RV {
    const r = receiver.v;
    if (r === undefined) return INVALID;
    const typ = receiver.iface ? 'interface {}' : goTypeName(r);
    if (r === null) this.errorf(`nil pointer evaluating ${typ}.${fieldName}`);
    if (r instanceof GoStruct) {
      // own methods only: not Object.prototype's (`.Files.constructor` is no method)
      const m = Object.prototype.hasOwnProperty.call(r.methods, fieldName) ? r.methods[fieldName] : undefined;
      if (m) return this.evalCall(dot, m, false, node, fieldName, args, final);
    }
    if (r instanceof GoTime) {
      const m = timeMethod(r, fieldName);
      if (m) return this.evalCall(dot, m, false, node, fieldName, args, final);
    }
    const hasArgs = args.length > 1 || final !== MISSING;
    if (r instanceof GoMap && (r.key === 'string' || r.key === 'interface {}')) {
      if (hasArgs) this.errorf(`${fieldName} is not a method but has arguments`);
      const res = r.get(fieldName);
      if (res === undefined && !r.has(fieldName)) return INVALID;
      return { v: res, iface: r.elem === 'interface {}' };
    }
    this.errorf(`can't evaluate field ${fieldName} in type ${typ}`);
  }

  evalFunction(dot: RV, node: IdentifierNode, cmd: Node, args: Node[], final: RV): RV {
    this.at(node);
    const fn = this.set.funcs.get(node.ident);
    if (!fn) this.errorf(`${goQuoteStr(node.ident)} is not a defined function`);
    return this.evalCall(dot, fn, true, cmd, node.ident, args, final);
  }

  evalCall(dot: RV, fn: GoFunc, isBuiltin: boolean, node: Node, name: string, argNodes: Node[], final: RV): RV {
    const args = argNodes.length > 0 ? argNodes.slice(1) : argNodes;
    const numIn = args.length + (final !== MISSING ? 1 : 0);
    const nParams = fn.params.length + (fn.opts.variadic !== undefined ? 1 : 0);
    let numFixed = args.length;
    if (fn.opts.variadic !== undefined) {
      numFixed = fn.params.length;
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${fn.params.length} got ${args.length}`);
    } else if (numIn !== nParams) {
      this.errorf(`wrong number of args for ${name}: want ${nParams} got ${numIn}`);
    }
    if (isBuiltin && (name === 'and' || name === 'or') && fn.opts.raw) {
      let v: RV = INVALID;
      for (const a of args) {
        v = this.evalArg(dot, 'reflect.Value', a);
        if (isTrue(v.v)[0] === (name === 'or')) return v;
      }
      if (final !== MISSING) v = this.validateType(final, 'reflect.Value');
      return v;
    }
    const argv: RV[] = [];
    let i = 0;
    for (; i < numFixed && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i], args[i]));
    if (fn.opts.variadic !== undefined) for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.opts.variadic, args[i]));
    if (final !== MISSING) {
      let t = fn.opts.variadic !== undefined ? fn.opts.variadic : fn.params[fn.params.length - 1];
      if (fn.opts.variadic !== undefined && numIn - 1 < numFixed) t = fn.params[numIn - 1];
      argv.push(this.validateType(final, t));
    }
    let result: Value;
    try {
      result = fn.fn(...argv.map((a) => a.v));
      // a string a function joined from pieces may hold escaped bytes that now form UTF-8
      if (typeof result === 'string') result = goNormalize(result);
    } catch (e) {
      if (e instanceof ExecError || e instanceof GoError) {
        this.at(node);
        const outer = this.execError(`error calling ${name}: ${e.message}`);
        outer.code = e.code;
        if (e instanceof ExecError) outer.inner = e.inner ?? e;
        throw outer;
      }
      if (e instanceof RangeError && /call stack/.test(e.message)) {
        this.at(node);
        this.errorf(`error calling ${name}: template recursion too deep for Stapelkit`);
      }
      throw e;
    }
    return { v: result, iface: fn.opts.ret === 'interface {}' || fn.opts.ret === 'reflect.Value' };
  }

  validateType(value: RV, typ: string | null): RV {
    const v = value.v;
    if (v === undefined) {
      if (typ === null) return { v: null };
      if (typ === 'reflect.Value') return INVALID;
      if (canBeNil(typ)) return { v: null };
      this.errorf(`invalid value; expected ${typ}`);
    }
    if (typ === null || typ === 'interface {}' || typ === 'reflect.Value') return value;
    if (v === null) {
      if (canBeNil(typ) && !value.iface) return value;
      this.errorf(`wrong type for value; expected ${typ}; got interface {}`);
    }
    if (!assignable(v, typ)) this.errorf(`wrong type for value; expected ${typ}; got ${goTypeName(v)}`);
    return { v };
  }

  evalArg(dot: RV, typ: string | null, n: Node): RV {
    this.at(n);
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        // builtins take reflect.Value: a literal nil reaches them as the zero (invalid) Value
        if (typ === 'reflect.Value') return INVALID;
        if (typ === null || canBeNil(typ)) return { v: null };
        this.errorf(`cannot assign nil to ${typ}`);
      // eslint-disable-next-line no-fallthrough
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, [], MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.type === 'bool') return { v: n.value };
        this.errorf(`expected bool; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'float64':
        if (n.type === 'number' && n.isFloat) return { v: n.float64 };
        this.errorf(`expected float; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'int':
      case 'int8':
      case 'int16':
      case 'int32':
      case 'int64':
        if (n.type === 'number' && n.isInt) return { v: new GoInt(n.int64, typ) };
        this.errorf(`expected integer; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'uint':
      case 'uint8':
      case 'uint16':
      case 'uint32':
      case 'uint64':
        if (n.type === 'number' && n.isUint) return { v: new GoInt(n.uint64, typ) };
        this.errorf(`expected unsigned integer; found ${nodeString(n)}`);
      // eslint-disable-next-line no-fallthrough
      case 'interface {}':
      case 'reflect.Value':
        return this.evalEmptyInterface(n);
      case 'string':
        if (n.type === 'string') return { v: n.text };
        this.errorf(`expected string; found ${nodeString(n)}`);
    }
    this.errorf(`can't handle ${nodeString(n)} for arg of type ${typ}`);
  }

  evalEmptyInterface(n: Node): RV {
    this.at(n);
    switch (n.type) {
      case 'bool':
        return { v: n.value };
      case 'number':
        return this.idealConstant(n);
      case 'string':
        return { v: n.text };
    }
    this.errorf(`can't handle assignment of ${nodeString(n)} to empty interface argument`);
  }

  /** Print an action's value; `mark` = the origin log's mark before the action's pipeline ran. */
  printValue(n: Node, v: RV, mark: number) {
    this.at(n);
    let s: string;
    if (v.v === undefined) s = '<no value>';
    else if (v.v instanceof GoFunc) this.errorf(`can't print ${nodeString(n)} of type ${goTypeName(v.v)}`);
    else s = sprintValue(v.v);
    const origin = this.wr.track && this.set.origins ? this.set.origins.matcher(s, mark) : undefined;
    this.wr.write(s, n.tree, n.pos, false, origin);
  }
}

function canBeNil(typ: string): boolean {
  return typ === 'interface {}' || typ.startsWith('[]') || typ.startsWith('map[') || typ.startsWith('*') || typ.startsWith('func');
}

export function assignable(v: Value, typ: string): boolean {
  switch (typ) {
    case 'interface {}':
    case 'reflect.Value':
      return true;
    case 'string':
      return typeof v === 'string';
    case 'bool':
      return typeof v === 'boolean';
    case 'float64':
      return typeof v === 'number';
    case 'time.Time':
      return v instanceof GoTime;
  }
  if (v instanceof GoInt) return v.kind === typ;
  if (v instanceof GoList) return typ === '[]' + v.elem;
  if (v instanceof GoMap) return typ === `map[${v.key}]${v.elem}`;
  if (v instanceof GoStruct) return typ === v.typeName;
  return false;
}

/** text/template's truth: zero values are false. */
export function isTrue(v: Value): [boolean, boolean] {
  if (v === undefined || v === null) return [false, true];
  if (typeof v === 'string') return [v.length > 0, true];
  if (typeof v === 'boolean') return [v, true];
  if (typeof v === 'number') return [v !== 0, true];
  if (v instanceof GoInt) return [v.v !== 0n, true];
  if (v instanceof GoList) return [v.items.length > 0, true];
  if (v instanceof GoMap) return [v.size > 0, true];
  if (v instanceof GoTime || v instanceof GoStruct) return [true, true];
  if (v instanceof GoFunc) return [true, true];
  return [false, false];
}

/** The time.Time methods templates may call (those werf's data leads to); undefined for others. */
function timeMethod(t: GoTime, name: string): GoFunc | undefined {
  switch (name) {
    case 'Unix':
      return new GoFunc('Unix', [], () => int(Math.floor(t.ms / 1000), 'int64'), { ret: 'int64' });
    case 'UnixNano':
      return new GoFunc('UnixNano', [], () => new GoInt(BigInt(Math.floor(t.ms)) * 1000000n + BigInt(t.nanos), 'int64'), { ret: 'int64' });
    case 'Format':
      return new GoFunc('Format', ['string'], (layout) => formatLayout(t, layout as string), { ret: 'string' });
    case 'String':
      return new GoFunc('String', [], () => timeString(t), { ret: 'string' });
    case 'UTC':
      return new GoFunc('UTC', [], () => new GoTime(t.ms, t.nanos, 'UTC'), { ret: 'time.Time' });
    case 'Year':
      return new GoFunc('Year', [], () => int(Number(formatLayout(t, '2006'))), { ret: 'int' });
  }
  return undefined;
}
