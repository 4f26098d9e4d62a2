/**
 * A failed step named by its Dockerfile line: the daemon reports the failing vertex (by name in
 * progress; dockerd 20.10 sends no source ranges), and the compile result knows which instruction
 * made each named op.
 */
import { BuildError } from '../buildkit';
import { StapelkitError } from '../errors';
import type { CompileResult } from './compile/types';

/** `err` with the position and text of the Dockerfile instruction whose op failed (else unchanged). */
export function positionBuildError(err: unknown, result: Pick<CompileResult, 'steps'>): unknown {
  if (!(err instanceof StapelkitError)) return err;
  const name = err instanceof BuildError ? err.vertexName : undefined;
  // A missing COPY/ADD source fails while computing cache keys; progress may blame whichever step
  // was running then, so the path in the message decides.
  const missing = /failed to compute cache key: "?([^"]+?)"? not found/.exec(err instanceof BuildError ? err.grpcMessage : err.message)?.[1];
  const bySource = missing !== undefined ? result.steps.find((s) => (s.kind === 'copy' || s.kind === 'add') && s.text.split(/\s+/).some((w) => '/' + w.replace(/^\.?\/+/, '') === missing)) : undefined;
  const step = bySource ?? result.steps.find((s) => s.name === name);
  if (!step) return err;
  const pos = { file: step.file, line: step.range.start.line, column: step.range.start.column };
  const detail = err instanceof BuildError && bySource ? `${step.name}: ${err.grpcMessage}` : err.message;
  const message = detail.includes(step.text) ? detail : `${detail} (instruction: ${step.text})`;
  if (err instanceof BuildError) return new BuildError(message, err.vertex, err.vertexName, err.command, err.exitCode, err.logTail, err.grpcMessage, { pos, hint: err.hint, cause: err });
  return new StapelkitError(err.code, message, { pos, hint: err.hint, cause: err });
}
