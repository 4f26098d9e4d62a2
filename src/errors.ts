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
    let out = '';
    if (this.pos) {
      out += this.pos.file;
      if (this.pos.line !== undefined) {
        out += `:${this.pos.line}`;
        if (this.pos.column !== undefined) out += `:${this.pos.column}`;
      }
      out += ': ';
      if (this.pos.keyPath) out += `${this.pos.keyPath}: `;
    }
    out += this.message;
    if (this.hint) out += ` (${this.hint})`;
    return out;
  }
}

export function isStapelkitError(e: unknown): e is StapelkitError {
  return e instanceof StapelkitError;
}
