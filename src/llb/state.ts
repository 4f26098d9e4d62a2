/**
 * `State`: an immutable handle on one output of the LLB graph plus the process settings later
 * steps inherit (env, working dir, user, platform, network, security, extra hosts, hostname) —
 * the TypeScript counterpart of Go's `llb.State`. Every method returns a new State.
 */
import { StapelkitError } from '../errors';
import { EnvList, type EnvEntries } from './env';
import { ExecState, type RunOptions } from './exec';
import { FileVertex, type FileAction } from './fileop';
import { NetMode, SecurityMode, type PbHostIP } from './pb';
import { isAbsPath, joinPath } from './paths';
import { parsePlatform, type Platform, type PlatformLike } from './platform';
import { opConstraints, type OpOptions, type Output } from './vertex';
import { isIP } from 'node:net';

/** The parts of an OCI image config (image-spec `Image`) that affect later steps. */
export interface ImageConfig {
  architecture?: string;
  os?: string;
  variant?: string;
  config?: { Env?: string[]; WorkingDir?: string; User?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export type NetworkMode = 'sandbox' | 'host' | 'none';
export type SecurityModeName = 'sandbox' | 'insecure';

export interface StateValues {
  readonly env: EnvList;
  readonly dir?: string;
  readonly user?: string;
  readonly platform?: Platform;
  readonly network: NetMode;
  readonly security: SecurityMode;
  readonly extraHosts: readonly PbHostIP[];
  readonly hostname?: string;
}

const EMPTY_VALUES: StateValues = {
  env: EnvList.empty(),
  network: NetMode.UNSET,
  security: SecurityMode.SANDBOX,
  extraHosts: [],
};

export function parseNetworkMode(mode: NetworkMode): NetMode {
  switch (mode) {
    case 'sandbox':
      return NetMode.UNSET;
    case 'host':
      return NetMode.HOST;
    case 'none':
      return NetMode.NONE;
    default:
      throw new StapelkitError('LLB_INVALID', `unknown network mode "${String(mode)}" (use sandbox, host or none)`);
  }
}

export function parseSecurityMode(mode: SecurityModeName): SecurityMode {
  switch (mode) {
    case 'sandbox':
      return SecurityMode.SANDBOX;
    case 'insecure':
      return SecurityMode.INSECURE;
    default:
      throw new StapelkitError('LLB_INVALID', `unknown security mode "${String(mode)}" (use sandbox or insecure)`);
  }
}

export class State {
  /** Use the source constructors (image, local, git, http, scratch) instead. */
  constructor(
    readonly output: Output | undefined,
    readonly values: StateValues = EMPTY_VALUES,
  ) {}

  /** True for scratch (an empty filesystem; no op). */
  isScratch(): boolean {
    return this.output === undefined;
  }

  /** Same settings, new filesystem; inherits the platform an op was explicitly given (Go's ensurePlatform). */
  withOutput(output: Output | undefined): State {
    const p = output?.vertex.explicitPlatform;
    return new State(output, p ? { ...this.values, platform: p } : this.values);
  }

  /** A state on `output` with default settings, keeping only this state's platform. */
  derive(output: Output | undefined): State {
    const p = this.values.platform;
    return new State(undefined, p ? { ...EMPTY_VALUES, platform: p } : EMPTY_VALUES).withOutput(output);
  }

  private with(patch: Partial<StateValues>): State {
    return new State(this.output, { ...this.values, ...patch });
  }

  // ---- env ----

  addEnv(key: string, value: string): State {
    return this.with({ env: this.values.env.addOrReplace(key, value) });
  }

  delEnv(key: string): State {
    return this.with({ env: this.values.env.delete(key) });
  }

  /** Replace the whole environment (`K=V` strings, pairs or a record). */
  withEnv(env: readonly string[] | EnvEntries | Record<string, string>): State {
    return this.with({ env: EnvList.from(env) });
  }

  getEnv(key: string): string | undefined {
    return this.values.env.get(key);
  }

  /** `K=V` strings in op order. */
  env(): string[] {
    return this.values.env.toArray();
  }

  // ---- working dir, user, hostname ----

  /** Relative paths resolve against the current dir (Go's llb.Dir). */
  dir(dir: string): State {
    if (dir === '') throw new StapelkitError('LLB_INVALID', 'working directory must not be empty');
    const value = isAbsPath(dir) ? dir : joinPath(this.values.dir || '/', dir);
    return this.with({ dir: value });
  }

  getDir(): string | undefined {
    return this.values.dir;
  }

  user(user: string): State {
    return this.with({ user });
  }

  getUser(): string | undefined {
    return this.values.user;
  }

  hostname(hostname: string): State {
    return this.with({ hostname });
  }

  getHostname(): string | undefined {
    return this.values.hostname;
  }

  // ---- platform, network, security, hosts ----

  platform(p: PlatformLike): State {
    return this.with({ platform: parsePlatform(p) });
  }

  getPlatform(): Platform | undefined {
    return this.values.platform;
  }

  network(mode: NetworkMode): State {
    return this.with({ network: parseNetworkMode(mode) });
  }

  security(mode: SecurityModeName): State {
    return this.with({ security: parseSecurityMode(mode) });
  }

  addExtraHost(host: string, ip: string): State {
    if (!host) throw new StapelkitError('LLB_INVALID', 'extra host needs a host name');
    if (!isIP(ip)) throw new StapelkitError('LLB_INVALID', `extra host "${host}": "${ip}" is not an IP address`);
    return this.with({ extraHosts: [...this.values.extraHosts, { Host: host, IP: ip }] });
  }

  /**
   * Apply an OCI image config (as returned by ResolveImageConfig / `docker image inspect`):
   * its Env, WorkingDir and platform like Go's State.WithImageConfig, and also its User (Go leaves
   * that to the frontend; RUN steps of a Dockerfile do run as the base image's user).
   * Accepts the raw JSON bytes/string or the parsed object.
   */
  withImageConfig(config: ImageConfig | string | Uint8Array): State {
    let img: ImageConfig;
    try {
      img = typeof config === 'string' || config instanceof Uint8Array ? JSON.parse(Buffer.from(config).toString('utf8')) : config;
    } catch (e) {
      throw new StapelkitError('LLB_INVALID', 'image config is not valid JSON', { cause: e });
    }
    let s: State = this;
    for (const kv of img.config?.Env ?? []) {
      const eq = kv.indexOf('=');
      const key = eq < 0 ? kv : kv.slice(0, eq);
      if (key !== '') s = s.addEnv(key, eq < 0 ? '' : kv.slice(eq + 1)); // Go skips entries with an empty name
    }
    if (img.config?.WorkingDir) s = s.dir(img.config.WorkingDir);
    if (img.config?.User) s = s.user(img.config.User);
    if (img.architecture && img.os) s = s.platform({ os: img.os, architecture: img.architecture, variant: img.variant });
    return s;
  }

  // ---- ops ----

  /** Run a process on this filesystem (Go's State.Run). */
  run(opts: RunOptions): ExecState {
    return ExecState.create(this, opts);
  }

  /** Apply a chain of file actions (Go's State.File). */
  file(action: FileAction, opts: OpOptions = {}): State {
    return this.withOutput({ vertex: new FileVertex(this, action, opConstraints(opts)), index: 0 });
  }
}

/** An empty filesystem. */
export function scratch(): State {
  return new State(undefined);
}
