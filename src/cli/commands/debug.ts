/**
 * `stapelkit debug dump-llb [file]`: read a marshalled pb.Definition (what `buildctl build` reads
 * on stdin) and print every op — digest, kind, decoded fields, OpMetadata — as one JSON object per
 * line, like `buildctl debug dump-llb`; `--dot` prints a Graphviz graph in buildctl's layout.
 * Needs no daemon. The decoding is pure (dumpDefinition); the command only does the I/O.
 */
import * as fs from 'node:fs';
import { Command } from 'commander';
import type * as protobuf from 'protobufjs';
import { StapelkitError } from '../../errors';
import { digestOf } from '../../llb';
import { messageType } from '../../proto';

export type DumpKind = 'source' | 'exec' | 'file' | 'build' | 'merge' | 'diff' | 'terminal';

export interface DumpedOp {
  Digest: string;
  Kind: DumpKind;
  /** The pb.Op with proto field names; bytes as base64 (as Go's encoding/json writes []byte). */
  Op: Record<string, unknown>;
  /** The pb.OpMetadata stored for this digest, or null when the Definition has none. */
  OpMetadata: Record<string, unknown> | null;
}

const OP_KINDS: readonly Exclude<DumpKind, 'terminal'>[] = ['source', 'exec', 'file', 'build', 'merge', 'diff'];

function notADefinition(why: string, cause?: unknown): StapelkitError {
  return new StapelkitError('LLB_DUMP_INPUT', `input is not an LLB Definition (pb.Definition): ${why}`, {
    hint: 'pass the bytes a frontend sends in SolveRequest.Definition, i.e. what `buildctl build` reads on stdin',
    cause,
  });
}

/**
 * protobufjs → plain object the way Go's encoding/json shows a proto struct with omitempty: bytes as
 * base64, int64 as numbers, and absent or empty repeated/map fields left out — while a present empty
 * sub-message (e.g. `constraints: {}`, which changes the digest) is kept as `{}`.
 */
const DUMP_OPTIONS: protobuf.IConversionOptions = { longs: Number, enums: Number, bytes: String, defaults: false, arrays: false, objects: false };

function decodeAs(typeName: string, bytes: Uint8Array): Record<string, any> {
  const type = messageType(typeName);
  return type.toObject(type.decode(bytes), DUMP_OPTIONS);
}

function kindOf(op: Record<string, any>): Exclude<DumpKind, 'terminal'> | undefined {
  return OP_KINDS.find((k) => op[k] !== undefined && op[k] !== null);
}

/**
 * Decode and sanity-check a Definition. Throws StapelkitError LLB_DUMP_INPUT when the bytes do not
 * decode, hold no ops, or do not form a graph (an input naming an op that is not in `def`, or an
 * op of no kind that is not the final terminal op).
 */
export function dumpDefinition(bytes: Uint8Array): DumpedOp[] {
  if (bytes.length === 0) throw notADefinition('the input is empty');
  let decoded: { ops: { digest: string; op: Record<string, any> }[]; metadata: Record<string, Record<string, any>> };
  try {
    const def = messageType('pb.Definition').decode(bytes) as unknown as { def?: Uint8Array[]; metadata?: Record<string, unknown> };
    const metadata: Record<string, Record<string, any>> = {};
    for (const [dgst, md] of Object.entries(def.metadata ?? {})) metadata[dgst] = messageType('pb.OpMetadata').toObject(md as protobuf.Message, DUMP_OPTIONS);
    decoded = {
      ops: (def.def ?? []).map((b, i) => {
        try {
          return { digest: digestOf(Buffer.from(b)), op: decodeAs('pb.Op', b) };
        } catch (e) {
          throw notADefinition(`def[${i}] is not a pb.Op: ${(e as Error).message}`, e);
        }
      }),
      metadata,
    };
  } catch (e) {
    if (e instanceof StapelkitError) throw e;
    throw notADefinition((e as Error).message, e);
  }
  if (decoded.ops.length === 0) throw notADefinition('it holds no ops (Definition.def is empty)');
  const digests = new Set(decoded.ops.map((o) => o.digest));
  return decoded.ops.map(({ digest, op }, i) => {
    let kind: DumpKind | undefined = kindOf(op);
    const inputs: { digest?: string }[] = op.inputs ?? [];
    if (!kind) {
      // Only the last op may be kind-less: the terminal op naming the result.
      if (i === decoded.ops.length - 1 && inputs.length === 1) kind = 'terminal';
      else throw notADefinition(`op #${i} (${digest}) has no operation (source/exec/file/build/merge/diff)`);
    }
    inputs.forEach((inp, j) => {
      if (!inp.digest || !digests.has(inp.digest)) throw notADefinition(`op #${i} (${digest}) input ${j} names ${JSON.stringify(inp.digest ?? '')}, which is not an op of this Definition`);
    });
    return { Digest: digest, Kind: kind, Op: op, OpMetadata: decoded.metadata[digest] ?? null };
  });
}

/** One JSON object per op and line. */
export function formatDumpJSON(ops: readonly DumpedOp[]): string {
  return ops.map((o) => JSON.stringify(o) + '\n').join('');
}

/** Go's %q for a string: printable characters as they are, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (ch === '"' || ch === '\\') out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else if (c >= 0x80 && c < 0xa0) out += '\\u' + c.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

function dotAttr(o: DumpedOp): [string, string] {
  const op = o.Op as Record<string, any>;
  switch (o.Kind) {
    case 'source':
      return [op.source.identifier ?? '', 'ellipse'];
    case 'exec':
      return [(op.exec.meta?.args ?? []).join(' '), 'box'];
    case 'build':
      return ['build', 'box3d'];
    case 'merge':
      return ['merge', 'invtriangle'];
    case 'diff':
      return ['diff', 'doublecircle'];
    case 'file': {
      const names = (op.file.actions ?? []).map((a: Record<string, any>) => {
        if (a.copy) return `copy{src=${a.copy.src ?? ''}, dest=${a.copy.dest ?? ''}}`;
        if (a.mkfile) return `mkfile{path=${a.mkfile.path ?? ''}}`;
        if (a.mkdir) return `mkdir{path=${a.mkdir.path ?? ''}}`;
        if (a.rm) return `rm{path=${a.rm.path ?? ''}}`;
        return '';
      });
      return [names.join(','), 'note'];
    }
    default:
      return [o.Digest, 'plaintext'];
  }
}

/** Graphviz, laid out like `buildctl debug dump-llb --dot`; edges into an exec name their mount. */
export function formatDumpDot(ops: readonly DumpedOp[]): string {
  const lines = ['digraph {'];
  for (const o of ops) {
    const [label, shape] = dotAttr(o);
    lines.push(`  ${goQuote(o.Digest)} [label=${goQuote(label)} shape=${goQuote(shape)}];`);
  }
  for (const o of ops) {
    const op = o.Op as Record<string, any>;
    (op.inputs ?? []).forEach((inp: { digest: string }, i: number) => {
      let label = '';
      for (const m of op.exec?.mounts ?? []) if ((m.input ?? 0) === i && m.dest !== '/') label = m.dest;
      lines.push(`  ${goQuote(inp.digest)} -> ${goQuote(o.Digest)} [label=${goQuote(label)}];`);
    });
  }
  lines.push('}');
  return lines.join('\n') + '\n';
}

function readInput(file: string | undefined): Buffer {
  if (file && file !== '-') {
    try {
      return fs.readFileSync(file);
    } catch (e) {
      throw new StapelkitError('LLB_DUMP_INPUT', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  if (process.stdin.isTTY) {
    throw new StapelkitError('LLB_DUMP_INPUT', 'no Definition on stdin', { hint: 'pipe one in or name a file: stapelkit debug dump-llb def.bin' });
  }
  return fs.readFileSync(0);
}

export function register(program: Command): void {
  const debug = program.command('debug').description('tools for looking inside builds (no daemon needed)');
  debug
    .command('dump-llb')
    .description('print the ops of an LLB Definition read from stdin (or a file) as JSON lines, like `buildctl debug dump-llb`')
    .argument('[file]', 'file holding the Definition bytes ("-" or none: stdin)')
    .option('--dot', 'print a Graphviz dot graph instead')
    .action((file: string | undefined, o: { dot?: boolean }) => {
      const ops = dumpDefinition(readInput(file));
      process.stdout.write(o.dot ? formatDumpDot(ops) : formatDumpJSON(ops));
    });
}
