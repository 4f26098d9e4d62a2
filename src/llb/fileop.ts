/**
 * FileOp: chains of mkdir / mkfile / rm / copy actions applied to one base state (Go's
 * `llb.Mkdir(...).Mkfile(...)` + `State.File`). Byte rules of Go client/llb v0.11.6: inputs are
 * the base state (if not scratch) then copy sources in action order, deduplicated; action k > 0 reads
 * the previous action's result at index len(inputs)+k-1; only the last action has output 0; unset
 * copy mode and unset timestamps are written as -1; FileOps carry the platform (dropped only in v0.12).
 */
import { Cap } from './caps';
import { EMPTY_INPUT, SKIP_OUTPUT, type PbChownOpt, type PbFileAction, type PbUserOpt } from './pb';
import { cleanPath, isAbsPath, joinPath, normalizeLLBPath } from './paths';
import type { State } from './state';
import { finishOp, invalid, InputList, type MarshalContext, type MarshaledVertex, type OpConstraints, type Output, type Vertex } from './vertex';

/** A user/group by name (resolved from the base's /etc/passwd, /etc/group) or numeric id. */
export type UserSpec = string | number;

/** `"user[:group]"` (numeric parts are ids, like Go's WithUser), a uid, or `{user, group}`. */
export type Owner = string | number | { user?: UserSpec; group?: UserSpec };

/** A creation time: a Date, or nanoseconds since the epoch as a bigint. */
export type Timestamp = Date | bigint;

export interface MkdirOptions {
  makeParents?: boolean;
  owner?: Owner;
  createdTime?: Timestamp;
}

export interface MkfileOptions {
  owner?: Owner;
  createdTime?: Timestamp;
}

export interface RmOptions {
  allowNotFound?: boolean;
  allowWildcard?: boolean;
}

export interface CopyOptions {
  owner?: Owner;
  /** Permission bits to set on copied files (default: keep). */
  mode?: number;
  followSymlinks?: boolean;
  /** Copy the contents of a source directory, not the directory itself. */
  dirCopyContents?: boolean;
  /** Unpack archives like Dockerfile ADD. */
  attemptUnpack?: boolean;
  createDestPath?: boolean;
  allowWildcard?: boolean;
  allowEmptyWildcard?: boolean;
  /** BuildKit ≥ v0.9 (cap file.copy.includeexcludepatterns). */
  includePatterns?: string[];
  excludePatterns?: string[];
  createdTime?: Timestamp;
  /** BuildKit ≥ v0.14. */
  alwaysReplaceExistingDestPaths?: boolean;
}

export type ActionSpec =
  | { kind: 'mkdir'; path: string; mode: number; opts: MkdirOptions }
  | { kind: 'mkfile'; path: string; mode: number; data: Uint8Array; opts: MkfileOptions }
  | { kind: 'rm'; path: string; opts: RmOptions }
  | { kind: 'copy'; from: State; src: string; dest: string; opts: CopyOptions };

function checkMode(mode: number, what: string): number {
  if (!Number.isInteger(mode) || mode < 0 || mode > 0o7777) throw invalid(`${what}: mode must be an integer between 0 and 0o7777, got ${mode}`);
  return mode;
}

function checkPath(p: string, what: string): string {
  if (typeof p !== 'string' || p === '') throw invalid(`${what} needs a path`);
  return p;
}

/** An immutable chain of file actions; each method appends one action. */
export class FileAction {
  private constructor(
    readonly spec: ActionSpec,
    readonly prev?: FileAction,
  ) {}

  static of(spec: ActionSpec, prev?: FileAction): FileAction {
    return new FileAction(spec, prev);
  }

  mkdir(path: string, mode: number, opts: MkdirOptions = {}): FileAction {
    return mkdirAction(path, mode, opts, this);
  }

  mkfile(path: string, mode: number, data: string | Uint8Array, opts: MkfileOptions = {}): FileAction {
    return mkfileAction(path, mode, data, opts, this);
  }

  rm(path: string, opts: RmOptions = {}): FileAction {
    return rmAction(path, opts, this);
  }

  copy(from: State, src: string, dest: string, opts: CopyOptions = {}): FileAction {
    return copyAction(from, src, dest, opts, this);
  }

  /** Actions from first to last. */
  chain(): ActionSpec[] {
    const out: ActionSpec[] = [];
    for (let a: FileAction | undefined = this; a; a = a.prev) out.push(a.spec);
    return out.reverse();
  }
}

function mkdirAction(path: string, mode: number, opts: MkdirOptions, prev?: FileAction): FileAction {
  return FileAction.of({ kind: 'mkdir', path: checkPath(path, 'mkdir'), mode: checkMode(mode, `mkdir ${path}`), opts: { ...opts } }, prev);
}

function mkfileAction(path: string, mode: number, data: string | Uint8Array, opts: MkfileOptions, prev?: FileAction): FileAction {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data);
  return FileAction.of({ kind: 'mkfile', path: checkPath(path, 'mkfile'), mode: checkMode(mode, `mkfile ${path}`), data: bytes, opts: { ...opts } }, prev);
}

function rmAction(path: string, opts: RmOptions, prev?: FileAction): FileAction {
  return FileAction.of({ kind: 'rm', path: checkPath(path, 'rm'), opts: { ...opts } }, prev);
}

function copyAction(from: State, src: string, dest: string, opts: CopyOptions, prev?: FileAction): FileAction {
  if (!from || typeof from.isScratch !== 'function') throw invalid('copy needs a source state');
  checkPath(src, 'copy source');
  checkPath(dest, 'copy destination');
  if (opts.mode !== undefined) checkMode(opts.mode, `copy ${src}`);
  return FileAction.of({ kind: 'copy', from, src, dest, opts: { ...opts, includePatterns: opts.includePatterns && [...opts.includePatterns], excludePatterns: opts.excludePatterns && [...opts.excludePatterns] } }, prev);
}

/** Create a directory (Go's llb.Mkdir); mode is masked to 0o777 like Go does. */
export function mkdir(path: string, mode: number, opts: MkdirOptions = {}): FileAction {
  return mkdirAction(path, mode, opts);
}

/** Create a file with the given contents (Go's llb.Mkfile). */
export function mkfile(path: string, mode: number, data: string | Uint8Array, opts: MkfileOptions = {}): FileAction {
  return mkfileAction(path, mode, data, opts);
}

/** Remove a path (Go's llb.Rm). */
export function rm(path: string, opts: RmOptions = {}): FileAction {
  return rmAction(path, opts);
}

/** Copy `src` of state `from` to `dest` of the base state (Go's llb.Copy). */
export function copy(from: State, src: string, dest: string, opts: CopyOptions = {}): FileAction {
  return copyAction(from, src, dest, opts);
}

/** Go's parseUID: a name that parses as uint32 is an id. */
function numericId(s: string): boolean {
  return /^[0-9]+$/.test(s) && Number(s) <= 0xffffffff;
}

function userOpt(u: UserSpec, base: number, what: string): PbUserOpt {
  if (typeof u === 'number') {
    if (!Number.isInteger(u) || u < 0 || u > 0xffffffff) throw invalid(`${what} id must be an unsigned 32-bit integer, got ${u}`);
    return { byID: u };
  }
  if (u === '') throw invalid(`${what} name must not be empty`);
  if (numericId(u)) return { byID: Number(u) };
  return { byName: { name: u, input: base } };
}

/** `"user[:group]"` (split at the first `:`), a uid or `{user, group}` as its two parts. */
function ownerParts(owner: Owner): { user?: UserSpec; group?: UserSpec } {
  if (typeof owner === 'number') return { user: owner };
  if (typeof owner === 'string') {
    const i = owner.indexOf(':');
    return i < 0 ? { user: owner } : { user: owner.slice(0, i), group: owner.slice(i + 1) };
  }
  return { user: owner.user, group: owner.group };
}

/** The first user/group in `owner` that is a name (not an id), if any. */
function ownerName(owner: Owner | undefined): string | undefined {
  if (owner === undefined) return undefined;
  const { user, group } = ownerParts(owner);
  return [user, group].find((p): p is string => typeof p === 'string' && p !== '' && !numericId(p));
}

function chownOpt(owner: Owner | undefined, base: number): PbChownOpt | undefined {
  if (owner === undefined) return undefined;
  const { user, group } = ownerParts(owner);
  const out: PbChownOpt = {};
  if (user !== undefined) out.user = userOpt(user, base, 'owner user');
  if (group !== undefined) out.group = userOpt(group, base, 'owner group');
  return out;
}

function marshalTime(t: Timestamp | undefined): bigint {
  if (t === undefined) return -1n;
  if (typeof t === 'bigint') return t;
  const ms = t.getTime();
  if (Number.isNaN(ms)) throw invalid('invalid createdTime');
  return BigInt(ms) * 1_000_000n;
}

export class FileVertex implements Vertex {
  readonly kind = 'file' as const;
  readonly explicitPlatform;
  private readonly actions: ActionSpec[];

  constructor(
    readonly base: State,
    action: FileAction,
    readonly constraints: OpConstraints,
  ) {
    if (!(action instanceof FileAction)) throw invalid('file() needs a FileAction (mkdir/mkfile/rm/copy)');
    this.actions = action.chain();
    if (base.isScratch()) {
      // Names are looked up in the base's /etc/passwd and /etc/group; the daemon would only say "invalid user index: -1".
      for (const a of this.actions) {
        const name = a.kind === 'rm' ? undefined : ownerName(a.opts.owner);
        if (name !== undefined) throw invalid(`${a.kind} ${a.kind === 'copy' ? a.dest : a.path}: owner "${name}" is a name, but the base is scratch (no /etc/passwd to resolve it); use numeric ids`);
      }
    }
    this.explicitPlatform = constraints.platform;
  }

  inputs(): Output[] {
    const out: Output[] = [];
    const add = (o: Output | undefined) => {
      if (o && !out.includes(o)) out.push(o);
    };
    add(this.base.output);
    for (const a of this.actions) if (a.kind === 'copy') add(a.from.output);
    return out;
  }

  marshal(ctx: MarshalContext): MarshaledVertex {
    const caps = new Set<string>([Cap.FileBase]);
    const inputs = new InputList();
    const baseIndex = this.base.output ? inputs.add(ctx.input(this.base.output)) : EMPTY_INPUT;
    const secondary = this.actions.map((a) => (a.kind === 'copy' && a.from.output ? inputs.add(ctx.input(a.from.output)) : EMPTY_INPUT));
    const parent = this.base.getDir() ?? '';
    const names: string[] = [];

    const actions: PbFileAction[] = this.actions.map((a, i) => {
      const fa: PbFileAction = {
        input: i === 0 ? baseIndex : inputs.inputs.length + i - 1,
        secondaryInput: secondary[i],
        output: i === this.actions.length - 1 ? 0 : SKIP_OUTPUT,
      };
      switch (a.kind) {
        case 'mkdir': {
          const path = normalizeLLBPath(parent, a.path, false);
          names.push(`mkdir ${path}`);
          fa.mkdir = { path, mode: a.mode & 0o777, makeParents: a.opts.makeParents, owner: chownOpt(a.opts.owner, baseIndex), timestamp: marshalTime(a.opts.createdTime) };
          break;
        }
        case 'mkfile': {
          const path = normalizeLLBPath(parent, a.path, false);
          names.push(`mkfile ${path}`);
          fa.mkfile = { path, mode: a.mode & 0o777, data: a.data, owner: chownOpt(a.opts.owner, baseIndex), timestamp: marshalTime(a.opts.createdTime) };
          break;
        }
        case 'rm': {
          const path = normalizeLLBPath(parent, a.path, false);
          names.push(`rm ${path}`);
          if (a.opts.allowWildcard) caps.add(Cap.FileRmWildcard);
          fa.rm = { path, allowNotFound: a.opts.allowNotFound, allowWildcard: a.opts.allowWildcard };
          break;
        }
        case 'copy': {
          const o = a.opts;
          let src = cleanPath(a.src);
          if (!isAbsPath(src)) src = joinPath('/', a.from.getDir() ?? '', src);
          const dest = normalizeLLBPath(parent, a.dest, true);
          names.push(`copy ${src} ${dest}`);
          if (o.includePatterns?.length || o.excludePatterns?.length) caps.add(Cap.FileCopyIncludeExcludePatterns);
          if (o.alwaysReplaceExistingDestPaths) caps.add(Cap.FileCopyAlwaysReplaceExistingDestPaths);
          fa.copy = {
            src,
            dest,
            owner: chownOpt(o.owner, baseIndex),
            mode: o.mode ?? -1,
            followSymlink: o.followSymlinks,
            dirCopyContents: o.dirCopyContents,
            attemptUnpackDockerCompatibility: o.attemptUnpack,
            createDestPath: o.createDestPath,
            allowWildcard: o.allowWildcard,
            allowEmptyWildcard: o.allowEmptyWildcard,
            timestamp: marshalTime(o.createdTime),
            include_patterns: o.includePatterns,
            exclude_patterns: o.excludePatterns,
            alwaysReplaceExistingDestPaths: o.alwaysReplaceExistingDestPaths,
          };
          break;
        }
      }
      return fa;
    });

    return finishOp({
      ctx,
      constraints: this.constraints,
      kind: 'file',
      op: { inputs: inputs.inputs, file: { actions } },
      caps,
      defaultName: names.join(', '),
      statePlatform: this.base.getPlatform(),
      withPlatform: true,
    });
  }
}
