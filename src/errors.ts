/**
 * The one error type of Stapelkit. Every failure a user can cause (bad werf.yaml, an unreachable
 * daemon, a cap the daemon lacks, a failing RUN) is a StapelkitError with a stable code, a message
 * for people, and — where there is one — the source position it points at.
 */
export interface SourcePos {
  file: string;
  line?: number; // 1-based
  column?: number; // 1-based
  /** Human key path, e.g. `image "app" → git[0].to`. */
  keyPath?: string;
}

export class StapelkitError extends Error {
  readonly code: string;
  readonly pos?: SourcePos;
  readonly hint?: string;

  constructor(code: string, message: string, opts: { pos?: SourcePos; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'StapelkitError';
    this.code = code;
    this.pos = opts.pos;
    this.hint = opts.hint;
  }

  /** `werf.yaml:12:3: image "app" → git[0].to: must be absolute (hint: …)` */
  format(): string {
    let out = (this.pos ? formatPos(this.pos) : '') + this.message;
    if (this.hint) out += ` (${this.hint})`;
    return out;
  }
}

/** The prefix a message about `pos` starts with: `werf.yaml:12:3: image "app" → git[0].to: `. */
export function formatPos(pos: SourcePos): string {
  let out = pos.file;
  if (pos.line !== undefined) {
    out += `:${pos.line}`;
    if (pos.column !== undefined) out += `:${pos.column}`;
  }
  out += ': ';
  if (pos.keyPath) out += `${pos.keyPath}: `;
  return out;
}

export function isStapelkitError(e: unknown): e is StapelkitError {
  return e instanceof StapelkitError;
}
