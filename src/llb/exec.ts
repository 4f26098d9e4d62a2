/**
 * ExecOp: run a process (Go's `State.Run`). Byte rules of Go client/llb v0.11.6: mounts sorted by
 * target (bytewise), then all secret mounts, then all ssh mounts (each in the order given); inputs
 * deduplicated by (digest, index); output indices only for writable, output-producing mounts in
 * sorted order; tmpfs mounts always carry a TmpfsOpt; Meta.removeMountStubsRecursive is always set.
 */
import { Cap } from './caps';
import { EnvList, type EnvEntries } from './env';
import { CacheSharingOpt, EMPTY_INPUT, MountType, NetMode, SecurityMode, SKIP_OUTPUT, type PbMeta, type PbMount, type PbProxyEnv, type PbSocketOpt } from './pb';
import { isAbsPath } from './paths';
import { splitShellWords } from './shlex';
import type { NetworkMode, SecurityModeName, State } from './state';
import { finishOp, invalid, InputList, opConstraints, type MarshalContext, type MarshaledVertex, type OpConstraints, type OpOptions, type Output, type Vertex } from './vertex';

/** PATH Go adds when the daemon does not set a default itself (`system.DefaultPathEnvUnix`). */
export const DEFAULT_PATH_ENV = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export type CacheSharing = 'shared' | 'private' | 'locked';

export interface BindMount {
  type?: 'bind';
  target: string;
  /** What to mount; `scratch()` mounts an empty directory. */
  from: State;
  /** Sub-path of `from` to mount. */
  selector?: string;
  readonly?: boolean;
  /** Writable, but changes are discarded (cap exec.mount.bind.readwrite-nooutput). */
  noOutput?: boolean;
}

export interface CacheMount {
  type: 'cache';
  target: string;
  /** Cache namespace shared across builds. */
  id: string;
  sharing?: CacheSharing;
  /** Initial contents (default: empty). */
  from?: State;
  selector?: string;
}

export interface TmpfsMount {
  type: 'tmpfs';
  target: string;
  /** Size limit in bytes (BuildKit ≥ v0.10, cap exec.mount.tmpfs.size). */
  size?: number;
}

/** Owner of a secret file or ssh socket, and whether the mount may be missing on the client. */
interface SocketOwner {
  uid?: number;
  gid?: number;
  optional?: boolean;
}

export interface SecretMount extends SocketOwner {
  type: 'secret';
  /** Secret id (default: the target path, as Go's AddSecret does). */
  id?: string;
  /** Default: `/run/secrets/<id>`. */
  target?: string;
  /** File mode, default 0o400. */
  mode?: number;
}

export interface SSHMount extends SocketOwner {
  type: 'ssh';
  /** SSH agent id exposed by the client; empty means the daemon's "default". */
  id?: string;
  /** Default: `/run/buildkit/ssh_agent.<n>`; the first one also becomes SSH_AUTH_SOCK. */
  target?: string;
  /** Socket mode, default 0o600. */
  mode?: number;
}

export type MountSpec = BindMount | CacheMount | TmpfsMount | SecretMount | SSHMount;

export interface ProxyEnv {
  httpProxy?: string;
  httpsProxy?: string;
  ftpProxy?: string;
  noProxy?: string;
  /** BuildKit ≥ v0.9 only; older daemons ignore it. */
  allProxy?: string;
}

export interface RunOptions extends OpOptions {
  /** The command as an argv array. Exactly one of args / shlex / shell. */
  args?: string[];
  /** A command line split into argv with shell-word rules (Go's llb.Shlex); no shell runs. */
  shlex?: string;
  /** A shell command run as `/bin/sh -c <shell>` (Dockerfile RUN shell form). */
  shell?: string;
  /** Added to the state's env (in order; existing keys move to the end). */
  env?: Record<string, string> | EnvEntries | readonly string[];
  /** Working dir; relative paths resolve against the state's dir. */
  cwd?: string;
  user?: string;
  network?: NetworkMode;
  security?: SecurityModeName;
  extraHosts?: { host: string; ip: string }[];
  hostname?: string;
  mounts?: MountSpec[];
  /** Mount `/` read-only; root() then returns the input state itself. */
  readonlyRootfs?: boolean;
  proxyEnv?: ProxyEnv;
}

/** One filesystem mount after validation, with its output index already assigned. */
interface FsMount {
  kind: 'bind' | 'cache' | 'tmpfs';
  target: string;
  source?: Output;
  sourceState?: State;
  selector?: string;
  readonly: boolean;
  noOutput: boolean;
  cacheId?: string;
  cacheSharing?: CacheSharingOpt;
  tmpfsSize?: number;
  output: number;
}

interface SocketMount {
  kind: 'secret' | 'ssh';
  id: string;
  target: string;
  mode: number;
  uid: number;
  gid: number;
  optional: boolean;
}

function checkTarget(target: string | undefined, what: string): string {
  if (!target || !isAbsPath(target)) throw invalid(`${what} target must be an absolute path, got ${JSON.stringify(target)}`);
  return target;
}

/**
 * Filesystem mount targets may be relative, as in Go (client_test testRelativeMountpoint): they are
 * written as given and the daemon resolves them against the working directory.
 */
function checkFsTarget(target: string | undefined, what: string): string {
  if (typeof target !== 'string' || target === '') throw invalid(`${what} needs a target path, got ${JSON.stringify(target)}`);
  return target;
}

function checkId(n: number | undefined, what: string): number {
  if (n === undefined) return 0;
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw invalid(`${what} must be an unsigned 32-bit integer, got ${n}`);
  return n;
}

function socketMount(kind: SocketMount['kind'], id: string, target: string, mode: number, owner: SocketOwner): SocketMount {
  return { kind, id, target, mode: checkId(mode, `${kind} mode`), uid: checkId(owner.uid, `${kind} uid`), gid: checkId(owner.gid, `${kind} gid`), optional: !!owner.optional };
}

const SHARING: Record<CacheSharing, CacheSharingOpt> = {
  shared: CacheSharingOpt.SHARED,
  private: CacheSharingOpt.PRIVATE,
  locked: CacheSharingOpt.LOCKED,
};

function compareBytewise(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

function resolveArgs(opts: RunOptions): string[] {
  const given = [opts.args !== undefined, opts.shlex !== undefined, opts.shell !== undefined].filter(Boolean).length;
  if (given !== 1) throw invalid('run needs exactly one of args, shlex or shell');
  let args: string[];
  if (opts.args !== undefined) args = [...opts.args];
  else if (opts.shlex !== undefined) args = splitShellWords(opts.shlex);
  else args = ['/bin/sh', '-c', opts.shell as string];
  if (args.length === 0 || args[0] === '') throw invalid('run: arguments are required');
  return args;
}

export class ExecVertex implements Vertex {
  readonly kind = 'exec' as const;
  readonly explicitPlatform;

  constructor(
    /** The state the process runs in (env, dir, user, … after the run options). */
    readonly base: State,
    readonly args: readonly string[],
    /** Sorted by target; output indices assigned. */
    readonly mounts: readonly FsMount[],
    readonly sockets: readonly SocketMount[],
    readonly proxyEnv: ProxyEnv | undefined,
    readonly constraints: OpConstraints,
  ) {
    this.explicitPlatform = constraints.platform;
  }

  inputs(): Output[] {
    const seen = new Set<Output>();
    const out: Output[] = [];
    for (const m of this.mounts) {
      if (m.source && !seen.has(m.source)) {
        seen.add(m.source);
        out.push(m.source);
      }
    }
    return out;
  }

  marshal(ctx: MarshalContext): MarshaledVertex {
    const v = this.base.values;
    const caps = new Set<string>([Cap.ExecMetaBase]);
    let env = v.env;
    const ssh = this.sockets.filter((s) => s.kind === 'ssh');
    if (ssh.length > 0 && !env.has('SSH_AUTH_SOCK')) env = env.addOrReplace('SSH_AUTH_SOCK', ssh[0].target);
    if (ctx.caps) {
      if (ctx.caps.has(Cap.ExecMetaSetsDefaultPath)) caps.add(Cap.ExecMetaSetsDefaultPath);
      else env = env.setDefault('PATH', DEFAULT_PATH_ENV);
    }

    const meta: PbMeta = {
      args: [...this.args],
      env: env.toArray(),
      cwd: v.dir ?? '/',
      user: v.user,
      hostname: v.hostname,
      removeMountStubsRecursive: true,
    };
    if (v.extraHosts.length > 0) meta.extraHosts = v.extraHosts.map((h) => ({ ...h }));
    if (this.proxyEnv) {
      const p = this.proxyEnv;
      const pe: PbProxyEnv = { http_proxy: p.httpProxy, https_proxy: p.httpsProxy, ftp_proxy: p.ftpProxy, no_proxy: p.noProxy, all_proxy: p.allProxy };
      meta.proxy_env = pe;
      caps.add(Cap.ExecMetaProxy);
    }
    if (v.network !== NetMode.UNSET) caps.add(Cap.ExecMetaNetwork);
    if (v.security !== SecurityMode.SANDBOX) caps.add(Cap.ExecMetaSecurity);

    const inputs = new InputList();
    const mounts: PbMount[] = [];
    for (const m of this.mounts) {
      if (m.selector) caps.add(Cap.ExecMountSelector);
      if (m.kind === 'cache') caps.add(Cap.ExecMountCache).add(Cap.ExecMountCacheSharing);
      else if (m.kind === 'tmpfs') {
        caps.add(Cap.ExecMountTmpfs);
        if (m.tmpfsSize) caps.add(Cap.ExecMountTmpfsSize);
      } else if (m.source) caps.add(Cap.ExecMountBind);
      if (m.noOutput) caps.add(Cap.ExecMountBindReadWriteNoOutput);

      const pm: PbMount = {
        input: m.source ? inputs.add(ctx.input(m.source)) : EMPTY_INPUT,
        selector: m.selector,
        dest: m.target,
        output: m.output,
        readonly: m.readonly,
      };
      if (m.kind === 'cache') {
        pm.mountType = MountType.CACHE;
        pm.cacheOpt = { ID: m.cacheId, sharing: m.cacheSharing };
      } else if (m.kind === 'tmpfs') {
        pm.mountType = MountType.TMPFS;
        pm.TmpfsOpt = { size: m.tmpfsSize };
      }
      mounts.push(pm);
    }
    // Go keeps secrets and ssh sockets in two lists and appends all secrets, then all ssh mounts.
    const sockets = [...this.sockets.filter((s) => s.kind === 'secret'), ...this.sockets.filter((s) => s.kind === 'ssh')];
    for (const s of sockets) {
      const opt: PbSocketOpt = { ID: s.id, uid: s.uid, gid: s.gid, mode: s.mode, optional: s.optional };
      if (s.kind === 'secret') {
        caps.add(Cap.ExecMountSecret);
        mounts.push({ dest: s.target, mountType: MountType.SECRET, secretOpt: opt });
      } else {
        caps.add(Cap.ExecMountSSH);
        mounts.push({ dest: s.target, mountType: MountType.SSH, SSHOpt: opt });
      }
    }

    return finishOp({
      ctx,
      constraints: this.constraints,
      kind: 'exec',
      op: { inputs: inputs.inputs, exec: { meta, mounts, network: v.network, security: v.security } },
      caps,
      defaultName: this.args.join(' '),
      statePlatform: v.platform,
      withPlatform: true,
    });
  }
}

/** The result of `State.run`: the root filesystem and every writable mount are outputs. */
export class ExecState {
  private constructor(
    readonly vertex: ExecVertex,
    /**
     * The state run() was called on. root() keeps ITS settings: run options (env, cwd, user,
     * network, …) apply to this one process only, as in Go where Run returns s.WithOutput(…).
     */
    private readonly callerState: State,
    private readonly readonlyRoot: boolean,
  ) {}

  static create(base: State, opts: RunOptions): ExecState {
    let s = base;
    for (const [k, v] of opts.env ? EnvList.pairs(opts.env) : []) s = s.addEnv(k, v);
    if (opts.cwd !== undefined) s = s.dir(opts.cwd);
    if (opts.user !== undefined) s = s.user(opts.user);
    if (opts.network !== undefined) s = s.network(opts.network);
    if (opts.security !== undefined) s = s.security(opts.security);
    for (const h of opts.extraHosts ?? []) s = s.addExtraHost(h.host, h.ip);
    if (opts.hostname !== undefined) s = s.hostname(opts.hostname);

    const args = resolveArgs(opts);
    const readonlyRoot = !!opts.readonlyRootfs;
    const fs: FsMount[] = [{ kind: 'bind', target: '/', source: s.output, sourceState: s, readonly: readonlyRoot, noOutput: false, output: SKIP_OUTPUT }];
    const sockets: SocketMount[] = [];
    let sshCount = 0;
    for (const m of opts.mounts ?? []) {
      switch (m.type) {
        case undefined:
        case 'bind': {
          const target = checkFsTarget(m.target, 'bind mount');
          if (!m.from) throw invalid(`bind mount ${target} needs a source state ("from"; use scratch() for an empty dir)`);
          fs.push({ kind: 'bind', target, source: m.from.output, sourceState: m.from, selector: m.selector, readonly: !!m.readonly, noOutput: !!m.noOutput, output: SKIP_OUTPUT });
          break;
        }
        case 'cache': {
          const target = checkFsTarget(m.target, 'cache mount');
          if (!m.id) throw invalid(`cache mount ${target} needs an id`);
          const sharing = SHARING[m.sharing ?? 'shared'];
          if (sharing === undefined) throw invalid(`cache mount ${target}: unknown sharing "${m.sharing}" (use shared, private or locked)`);
          fs.push({ kind: 'cache', target, source: m.from?.output, selector: m.selector, readonly: false, noOutput: false, cacheId: m.id, cacheSharing: sharing, output: SKIP_OUTPUT });
          break;
        }
        case 'tmpfs': {
          const target = checkFsTarget(m.target, 'tmpfs mount');
          if (m.size !== undefined && (!Number.isSafeInteger(m.size) || m.size < 0)) throw invalid(`tmpfs mount ${target}: size must be a non-negative integer of bytes`);
          fs.push({ kind: 'tmpfs', target, readonly: false, noOutput: false, tmpfsSize: m.size, output: SKIP_OUTPUT });
          break;
        }
        case 'secret': {
          const id = m.id ?? m.target;
          if (!id) throw invalid('secret mount needs an id or a target');
          const target = checkTarget(m.target ?? `/run/secrets/${id}`, `secret "${id}"`);
          sockets.push(socketMount('secret', id, target, m.mode ?? 0o400, m));
          break;
        }
        case 'ssh': {
          const target = checkTarget(m.target ?? `/run/buildkit/ssh_agent.${sshCount}`, 'ssh mount');
          sshCount++;
          sockets.push(socketMount('ssh', m.id ?? '', target, m.mode ?? 0o600, m));
          break;
        }
        default:
          throw invalid(`unknown mount type "${(m as { type?: string }).type}"`);
      }
    }
    const targets = new Set<string>();
    for (const t of [...fs.map((m) => m.target), ...sockets.map((m) => m.target)]) {
      if (targets.has(t)) throw invalid(`two mounts at ${t}`);
      targets.add(t);
    }

    fs.sort((a, b) => compareBytewise(a.target, b.target));
    let next = 0;
    for (const m of fs) {
      if (m.kind === 'bind' && !m.readonly && !m.noOutput) m.output = next++;
    }
    const vertex = new ExecVertex(s, args, fs, sockets, opts.proxyEnv, opConstraints(opts));
    return new ExecState(vertex, base, readonlyRoot);
  }

  /** The root filesystem after the process ran (the input state itself with readonlyRootfs). */
  root(): State {
    if (this.readonlyRoot) return this.callerState;
    return this.callerState.withOutput({ vertex: this.vertex, index: this.mountAt('/').output });
  }

  /**
   * The filesystem of the mount at `target` after the run. A read-only bind returns its source;
   * cache, tmpfs and no-output mounts have no result and throw. The returned state starts with
   * fresh settings (dir `/`, no env) but keeps the platform.
   */
  getMount(target: string): State {
    if (target === '/') return this.root();
    const m = this.mountAt(target);
    if (m.kind === 'bind' && m.readonly) return m.sourceState as State;
    if (m.output < 0) throw invalid(`mount ${target} is a ${m.noOutput ? 'no-output bind' : m.kind} mount and has no result to use`);
    return this.callerState.derive({ vertex: this.vertex, index: m.output });
  }

  private mountAt(target: string): FsMount {
    const m = this.vertex.mounts.find((x) => x.target === target);
    if (!m) throw invalid(`run has no filesystem mount at ${target}`);
    return m;
  }
}
