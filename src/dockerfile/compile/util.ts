/** Small pieces every instruction family shares: expansion, step names, history, Go formatting. */
import { cleanPath } from '../../util/gopath';
import { formatPlatform, type OpOptions } from '../../llb';
import type { Instruction } from '../instructions';
import { instructionError } from '../instructions';
import type { Node, Pos } from '../parser/parser';
import { ShellError, ShellLex } from '../parser/shell';
import type { DispatchContext, DispatchState } from './types';

/** Expand one word with the stage's env (image env + ENV + ARG values), positioned errors. */
export function expand(ctx: DispatchContext, d: DispatchState, word: string, node: Node, pos?: Pos): string {
  try {
    return ctx.shlex.processWord(word, d.state.env());
  } catch (e) {
    if (e instanceof ShellError) throw instructionError(ctx.file, node, e.message, pos);
    throw e;
  }
}

/** Expand with a plain key → value map (FROM, --from: meta args only). */
export function expandWithMap(ctx: DispatchContext, word: string, env: Map<string, string>, node: Node, pos?: Pos): string {
  try {
    return ctx.shlex.processWord(word, env);
  } catch (e) {
    if (e instanceof ShellError) throw instructionError(ctx.file, node, e.message, pos);
    throw e;
  }
}

/** metaArgsToMap: the last value of each key. */
export function argMap(args: readonly { key: string; value?: string }[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of args) m.set(a.key, a.value ?? '');
  return m;
}

/** processCmdEnv + uppercaseCmd: the instruction text as shown in progress. */
export function displayCommand(ctx: DispatchContext, d: DispatchState, node: Node): string {
  const text = node.original.trim();
  const lex = new ShellLex(ctx.escape, { rawQuotes: true, skipUnsetEnv: true });
  let shown = text;
  try {
    shown = lex.processWord(text, d.state.env());
  } catch {
    shown = text;
  }
  const sp = shown.search(/\s/);
  return sp < 0 ? shown.toUpperCase() : shown.slice(0, sp).toUpperCase() + shown.slice(sp);
}

/** prefixCommand: `[stage-0 2/5] ` before a step name (only for counted steps). */
export function prefixCommand(ctx: DispatchContext, d: DispatchState, str: string): string {
  if (d.cmdTotal === 0) return str;
  let out = '[';
  const showPlatform = ctx.opts.prefixPlatform ?? false;
  if (showPlatform) out += formatPlatform(d.platform) + ' ';
  out += d.name + ' ';
  d.cmdIndex++;
  const width = 1 + Math.floor(Math.log10(d.cmdTotal));
  out += `${String(d.cmdIndex).padStart(width, ' ')}/${d.cmdTotal}] `;
  return out + str;
}

/** Op options for a step: custom name, location, and the step recorded for the caller. */
export function stepOptions(ctx: DispatchContext, d: DispatchState, ins: Instruction, name: string): OpOptions {
  const r = ins.node.range;
  ctx.steps.push({ name, stage: d.name, range: r, kind: ins.kind, file: ctx.file, text: ins.node.original.trim() });
  return {
    customName: name,
    location: ctx.sourceMap.location({ start: { line: r.start.line, character: r.start.column }, end: { line: r.end.line } }),
  };
}

export function commitToHistory(d: DispatchState, msg: string, withLayer: boolean, onState: boolean): void {
  if (onState) msg += ' # buildkit';
  const h = (d.image.history ??= []);
  h.push({ created_by: msg, comment: 'buildkit.dockerfile.v0', ...(withLayer ? {} : { empty_layer: true }) });
}

/** Go's %q for a string. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return out + '"';
}

/** Go's %q for a []string: `["a" "b"]`. */
export function goQuoteList(list: readonly string[]): string {
  return '[' + list.map(goQuote).join(' ') + ']';
}

/** Go's %v for a []string: `[a b]`. */
export function goList(list: readonly string[]): string {
  return '[' + list.join(' ') + ']';
}

/** Go's time.Duration String(). */
export function goDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    if (u < 1e3) out = `${u}ns`;
    else if (u < 1e6) out = `${trimFloat(u / 1e3)}µs`;
    else out = `${trimFloat(u / 1e6)}ms`;
  } else {
    const h = Math.floor(u / 3600e9);
    u -= h * 3600e9;
    const m = Math.floor(u / 60e9);
    u -= m * 60e9;
    const s = trimFloat(u / 1e9);
    out = (h ? `${h}h` : '') + (h || m ? `${m}m` : '') + `${s}s`;
  }
  return (neg ? '-' : '') + out;
}

function trimFloat(x: number): string {
  return String(Number(x.toFixed(9)));
}

/** time.ParseDuration (units ns us µs ms s m h). */
export function parseGoDuration(s: string): number | undefined {
  if (s === '0') return 0;
  const re = /(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|ms|s|m|h)/gy;
  const units: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
  let neg = false;
  let t = s;
  if (t.startsWith('-') || t.startsWith('+')) {
    neg = t[0] === '-';
    t = t.slice(1);
  }
  if (t === '') return undefined;
  let total = 0;
  let pos = 0;
  re.lastIndex = 0;
  while (pos < t.length) {
    re.lastIndex = pos;
    const m = re.exec(t);
    if (!m) return undefined;
    total += Number(m[1]) * units[m[2]];
    pos = re.lastIndex;
  }
  return Math.round(neg ? -total : total);
}

/** shell.BuildEnvs: K=V list → map (last wins). */
export function envMap(env: readonly string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (const kv of env) {
    const i = kv.indexOf('=');
    if (i < 0) m.set(kv, '');
    else m.set(kv.slice(0, i), kv.slice(i + 1));
  }
  return m;
}

/** addEnv on an image config Env list: replace in place or append. */
export function addImageEnv(env: string[] | undefined, key: string, value: string): string[] {
  const out = [...(env ?? [])];
  const i = out.findIndex((kv) => (kv.includes('=') ? kv.slice(0, kv.indexOf('=')) : kv) === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

export function withShell(d: DispatchState, args: string[]): string[] {
  const shell = d.image.config.Shell && d.image.config.Shell.length ? d.image.config.Shell : ['/bin/sh', '-c'];
  return [...shell, args.join(' ')];
}

/** An absolute, cleaned path (Go's path.Clean of `/` + p). */
export function cleanAbs(p: string): string {
  return cleanPath('/' + p);
}
