/**
 * Turning BuildKit's gRPC errors into StapelkitErrors people can act on.
 *
 * BuildKit attaches a `google.rpc.Status` in the `grpc-status-details-bin` trailer whose details
 * are Any values with JSON bytes (`github.com/moby/buildkit/errdefs.Vertex+json` = the failing
 * vertex digest, `…errdefs.Source+json` = source ranges, `…stack.Stack+json`, …).
 */
import type * as grpc from '@grpc/grpc-js';
import { StapelkitError, type SourcePos } from '../errors';
import { decodeMessage, messageType } from '../proto';
import type { ProgressCollector } from './progress';

export interface ErrorDetail {
  typeUrl: string;
  /** The parsed JSON value, or undefined when it is not JSON. */
  value: unknown;
}

export interface DecodedGrpcError {
  code: number;
  message: string;
  details: ErrorDetail[];
  /** Digest of the failing vertex (errdefs.Vertex), when the daemon named one. */
  vertex?: string;
  /** errdefs.Source: `{info: {filename, …}, ranges: […]}`. */
  source?: unknown;
}

/** The status details of a grpc-js error (empty when there is no `grpc-status-details-bin`). */
export function decodeGrpcError(err: Partial<grpc.ServiceError>): DecodedGrpcError {
  const out: DecodedGrpcError = { code: err.code ?? 2, message: err.details ?? err.message ?? String(err), details: [] };
  const raw = err.metadata?.get('grpc-status-details-bin')?.[0];
  if (raw && typeof raw !== 'string') {
    try {
      const st = decodeMessage<{ code?: number; message?: string; details?: { type_url?: string; value?: Buffer }[] }>(messageType('google.rpc.Status'), raw);
      if (st.message) out.message = st.message;
      for (const d of st.details ?? []) {
        const typeUrl = d.type_url ?? '';
        let value: unknown;
        try {
          value = JSON.parse(Buffer.from(d.value ?? []).toString());
        } catch {
          value = undefined;
        }
        out.details.push({ typeUrl, value });
        if (typeUrl.endsWith('errdefs.Vertex+json')) out.vertex = (value as { digest?: string } | undefined)?.digest;
        if (typeUrl.endsWith('errdefs.Source+json')) out.source = value;
      }
    } catch {
      /* not a google.rpc.Status: keep the plain message */
    }
  }
  return out;
}

/** A failed build step: which vertex, what command, its exit status and the end of its log. */
export class BuildError extends StapelkitError {
  constructor(
    message: string,
    readonly vertex: string | undefined,
    readonly vertexName: string | undefined,
    readonly command: string | undefined,
    readonly exitCode: number | undefined,
    readonly logTail: string[],
    readonly grpcMessage: string,
    opts: { hint?: string; cause?: unknown; pos?: SourcePos } = {},
  ) {
    super('BUILD_FAILED', message, opts);
  }
}

/** `executor failed running [/bin/sh -c exit 3]: exit code: 3` (v0.8) or `process "…" did not complete successfully: exit code: 3` (later). */
export function parseExecFailure(msg: string): { command?: string; exitCode?: number } {
  const code = /exit code: (\d+)/.exec(msg);
  const v08 = /executor failed running \[(.*)\]: /.exec(msg);
  const later = /process "(.*)" did not complete successfully/.exec(msg);
  return { command: v08?.[1] ?? later?.[1]?.replace(/\\"/g, '"'), exitCode: code ? Number(code[1]) : undefined };
}

const LOG_TAIL = 10;

/**
 * The StapelkitError for a failed Solve, using what the Status stream recorded about the vertex.
 * `candidates` (op digests of the failed Definition) keeps a Status stream shared by concurrent
 * solves (one client-side gateway build) from blaming another solve's failed vertex.
 */
export function buildErrorFrom(err: Partial<grpc.ServiceError>, progress?: ProgressCollector, sourceMap?: ReadonlyMap<string, SourcePos>, candidates?: ReadonlySet<string>, names?: ReadonlyMap<string, string>): StapelkitError {
  const d = decodeGrpcError(err);
  const msg = d.message.replace(/^failed to solve: (rpc error: code = \w+ desc = )?/, '');
  if (/unknown API capability/.test(msg)) {
    const cap = /unknown API capability (\S+)/.exec(msg)?.[1];
    return new StapelkitError('CAP_MISSING', `the daemon does not support LLB capability ${cap}: ${msg}`, { cause: err });
  }
  const m = /exporter "([^"]+)" could not be found/.exec(msg);
  if (m) return new StapelkitError('EXPORTER_MISSING', `the daemon has no "${m[1]}" exporter`, { cause: err });
  const vertexDigest = d.vertex ?? progress?.failed().find((v) => !candidates || candidates.has(v.digest))?.digest;
  const rec = vertexDigest ? progress?.vertices.get(vertexDigest) : undefined;
  // Without a Status stream (a frontend's gateway), the failing op's name comes from the Definition.
  const name = rec?.name ?? (vertexDigest ? names?.get(vertexDigest) : undefined);
  const { command, exitCode } = parseExecFailure(msg);
  const tail = vertexDigest && progress ? progress.lastLogLines(vertexDigest, LOG_TAIL) : [];
  let text: string;
  if (exitCode !== undefined) {
    const cmd = command ? `command '${shownCommand(command)}'` : 'the command';
    // Vertex names are often the command itself; name the step only when it says something more.
    const step = name && name !== command ? `${name}: ` : '';
    text = `${step}${cmd} exited ${exitCode}`;
  } else {
    text = name ? `${name}: ${msg}` : msg;
  }
  if (tail.length) text += `\n  last log lines:\n${tail.map((l) => `    ${l}`).join('\n')}`;
  // dockerd 20.10 sends no status details; then the Definition's own source map (if any) says where.
  const pos = sourcePos(d.source) ?? (vertexDigest ? sourceMap?.get(vertexDigest) : undefined);
  return new BuildError(text, vertexDigest, name, command, exitCode, tail, msg, { cause: err, pos });
}

/** The command as people wrote it: without the `/bin/sh -c` of a shell-form RUN, first line only, at most 80 characters. */
export function shownCommand(command: string): string {
  let c = command.replace(/^(\/bin\/)?sh -c /, '');
  const lines = c.split('\n').filter((l) => l.trim() !== '');
  c = lines[0] ?? '';
  const more = lines.length > 1;
  if (c.length > 80) return `${c.slice(0, 79)}…`;
  return more ? `${c} …` : c;
}

/** A SourcePos from a BuildKit source range start (1-based line/character; 0 means unknown). */
export function posFromRangeStart(file: string, start?: { line?: number; character?: number }): SourcePos {
  return { file, ...(start?.line ? { line: start.line } : {}), ...(start?.character ? { column: start.character } : {}) };
}

/**
 * errdefs.Source `{info: {filename}, ranges: [{start: {line, character}}]}` as a SourcePos (1-based
 * line). dockerd 20.10's BuildKit writes the position fields as `Line`/`Character` (Go field names).
 */
export function sourcePos(source: unknown): SourcePos | undefined {
  type Start = { line?: number; character?: number; Line?: number; Character?: number };
  const s = source as { info?: { filename?: string }; ranges?: { start?: Start }[] } | undefined;
  const file = s?.info?.filename;
  const start = s?.ranges?.[0]?.start;
  return file ? posFromRangeStart(file, start && { line: start.line ?? start.Line, character: start.character ?? start.Character }) : undefined;
}
