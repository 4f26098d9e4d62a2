/**
 * SourceOps: `image`, `local`, `git`, `http` (Go's llb.Image / Local / Git / HTTP). Identifiers and
 * attrs per docs §1.3; caps per §2.2. Only image sources carry a platform in their bytes.
 */
import { Cap } from './caps';
import { normalizeImageRef } from './reference';
import { State } from './state';
import { finishOp, invalid, opConstraints, type MarshalContext, type MarshaledVertex, type OpConstraints, type OpOptions, type Output, type Vertex } from './vertex';

export const ATTR = {
  imageResolveMode: 'image.resolvemode',
  imageRecordType: 'image.recordtype',
  imageLayerLimit: 'image.layerlimit',
  localSessionID: 'local.session',
  localUniqueID: 'local.unique',
  localIncludePatterns: 'local.includepattern', // singular, as in BuildKit
  localExcludePatterns: 'local.excludepatterns',
  localFollowPaths: 'local.followpaths',
  localSharedKeyHint: 'local.sharedkeyhint',
  gitKeepDir: 'git.keepgitdir',
  gitFullURL: 'git.fullurl',
  gitAuthTokenSecret: 'git.authtokensecret',
  gitAuthHeaderSecret: 'git.authheadersecret',
  gitKnownSSHHosts: 'git.knownsshhosts',
  gitMountSSHSock: 'git.mountsshsock',
  httpChecksum: 'http.checksum',
  httpFilename: 'http.filename',
  httpPerm: 'http.perm',
  httpUID: 'http.uid',
  httpGID: 'http.gid',
} as const;

export class SourceVertex implements Vertex {
  readonly kind = 'source' as const;
  readonly explicitPlatform;

  constructor(
    readonly identifier: string,
    readonly attrs: Readonly<Record<string, string>>,
    readonly caps: readonly string[],
    readonly constraints: OpConstraints,
    /** For local sources: fixed `local.unique` (else the marshal-wide one). */
    readonly localUniqueId?: string,
  ) {
    this.explicitPlatform = constraints.platform;
  }

  inputs(): Output[] {
    return [];
  }

  marshal(ctx: MarshalContext): MarshaledVertex {
    const attrs = { ...this.attrs };
    const caps = new Set(this.caps);
    // Go adds local.unique at marshal time so sessionless locals of different clients never share cache keys.
    if (this.identifier.startsWith('local://') && !(ATTR.localSessionID in attrs)) {
      attrs[ATTR.localUniqueID] = this.localUniqueId ?? ctx.localUniqueId;
      caps.add(Cap.SourceLocalUnique);
    }
    return finishOp({
      ctx,
      constraints: this.constraints,
      kind: 'source',
      op: { source: { identifier: this.identifier, attrs } },
      caps,
      defaultName: this.identifier,
      withPlatform: this.identifier.startsWith('docker-image://') || this.identifier.startsWith('oci-layout://'),
    });
  }
}

function sourceState(v: SourceVertex): State {
  return new State(undefined).withOutput({ vertex: v, index: 0 });
}

/** encoding/json's string escaping (HTML-safe), so attrs match Go's json.Marshal byte for byte. */
export function goJSONStringArray(values: readonly string[]): string {
  const esc = (s: string) =>
    '"' +
    s.replace(/[\u0000-\u001f"\\<>&\u2028\u2029]/g, (c) => {
      switch (c) {
        case '"':
          return '\\"';
        case '\\':
          return '\\\\';
        case '\n':
          return '\\n';
        case '\r':
          return '\\r';
        case '\t':
          return '\\t';
        default:
          return '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0');
      }
    }) +
    '"';
  return '[' + values.map(esc).join(',') + ']';
}

// ---- image ----

export type ResolveMode = 'default' | 'pull' | 'local';

export interface ImageOptions extends OpOptions {
  /** `default` (daemon decides; not written), `pull` (always pull), `local` (prefer local). */
  resolveMode?: ResolveMode;
  recordType?: 'internal' | 'frontend' | 'regular';
  /** Use only the first N layers (BuildKit ≥ v0.11). */
  layerLimit?: number;
}

/** A registry image; the ref is normalised (`alpine` → `docker.io/library/alpine:latest`). */
export function image(ref: string, opts: ImageOptions = {}): State {
  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.SourceImage];
  const mode = opts.resolveMode ?? 'default';
  if (mode !== 'default') {
    if (mode !== 'pull' && mode !== 'local') throw invalid(`image ${ref}: unknown resolve mode "${mode}" (use default, pull or local)`);
    attrs[ATTR.imageResolveMode] = mode;
    if (mode === 'pull') caps.push(Cap.SourceImageResolveMode); // Go only requires the cap for forced pull
  }
  if (opts.recordType) attrs[ATTR.imageRecordType] = opts.recordType;
  if (opts.layerLimit !== undefined) {
    if (!Number.isInteger(opts.layerLimit) || opts.layerLimit < 0) throw invalid(`image ${ref}: layerLimit must be a non-negative integer`);
    attrs[ATTR.imageLayerLimit] = String(opts.layerLimit);
    caps.push(Cap.SourceImageLayerLimit);
  }
  const v = new SourceVertex(`docker-image://${normalizeImageRef(ref)}`, attrs, caps, opConstraints(opts));
  return sourceState(v);
}

// ---- local ----

export interface LocalOptions extends OpOptions {
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
  /** Lets the daemon reuse a previous transfer of a different session (cache key hint). */
  sharedKeyHint?: string;
  /** Session that serves the directory; when absent, a `local.unique` id is added. */
  sessionId?: string;
  /** Fixed `local.unique` (default: the marshal-wide random id). */
  uniqueId?: string;
}

/** A directory the client sends over the session (FileSync), named `name`. */
export function local(name: string, opts: LocalOptions = {}): State {
  if (!name) throw invalid('local source needs a name');
  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.SourceLocal];
  if (opts.sessionId) {
    attrs[ATTR.localSessionID] = opts.sessionId;
    caps.push(Cap.SourceLocalSessionID);
  }
  if (opts.includePatterns?.length) {
    attrs[ATTR.localIncludePatterns] = goJSONStringArray(opts.includePatterns);
    caps.push(Cap.SourceLocalIncludePatterns);
  }
  if (opts.followPaths?.length) {
    attrs[ATTR.localFollowPaths] = goJSONStringArray(opts.followPaths);
    caps.push(Cap.SourceLocalFollowPaths);
  }
  if (opts.excludePatterns?.length) {
    attrs[ATTR.localExcludePatterns] = goJSONStringArray(opts.excludePatterns);
    caps.push(Cap.SourceLocalExcludePatterns);
  }
  if (opts.sharedKeyHint) {
    attrs[ATTR.localSharedKeyHint] = opts.sharedKeyHint;
    caps.push(Cap.SourceLocalSharedKeyHint);
  }
  return sourceState(new SourceVertex(`local://${name}`, attrs, caps, opConstraints(opts), opts.uniqueId || undefined));
}

// ---- git ----

export interface GitOptions extends OpOptions {
  keepGitDir?: boolean;
  /** Secret holding an HTTP token (default GIT_AUTH_TOKEN). */
  authTokenSecret?: string;
  /** Secret holding a full HTTP auth header (default GIT_AUTH_HEADER). */
  authHeaderSecret?: string;
  /** known_hosts content for SSH remotes (Go would ssh-keyscan; we never touch the network here). */
  knownSshHosts?: string;
  /** SSH agent id for SSH remotes (default "default"). */
  mountSshSock?: string;
}

const IMPLICIT_SSH_RE = /^[A-Za-z0-9_.-]+@[A-Za-z0-9.-]+:.+$/;

/** gitutil.ParseProtocol: strip the scheme (and an SSH user); tell SSH remotes apart. */
function parseGitRemote(remote: string): { rest: string; kind: 'http' | 'https' | 'git' | 'ssh' | 'unknown' } {
  let rest = remote;
  let kind: 'http' | 'https' | 'git' | 'ssh' | 'unknown' = 'unknown';
  for (const [prefix, k] of [['http://', 'http'], ['https://', 'https'], ['git://', 'git'], ['ssh://', 'ssh']] as const) {
    if (rest.startsWith(prefix)) {
      rest = rest.slice(prefix.length);
      kind = k;
    }
  }
  if (kind === 'unknown' && IMPLICIT_SSH_RE.test(rest)) kind = 'ssh';
  if (kind === 'ssh') {
    const at = rest.indexOf('@');
    if (at >= 0) rest = rest.slice(at + 1);
  }
  return { rest, kind };
}

/** A git repository at `ref` (branch, tag or commit); `git@host:path` and `ssh://` remotes use SSH. */
export function git(remote: string, ref = '', opts: GitOptions = {}): State {
  if (!remote) throw invalid('git source needs a remote');
  let fullURL = remote.split('#')[0];
  const parsed = parseGitRemote(remote);
  let id = parsed.rest;
  if (parsed.kind === 'ssh') {
    const colon = id.indexOf(':');
    if (colon >= 0) id = id.slice(0, colon) + '/' + id.slice(colon + 1); // keep ids consistent with the http form
  }
  if (parsed.kind === 'unknown') fullURL = 'https://' + fullURL;
  if (ref) id += '#' + ref;

  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.SourceGit];
  if (opts.keepGitDir) {
    attrs[ATTR.gitKeepDir] = 'true';
    caps.push(Cap.SourceGitKeepDir);
  }
  attrs[ATTR.gitFullURL] = fullURL;
  caps.push(Cap.SourceGitFullURL);
  attrs[ATTR.gitAuthTokenSecret] = opts.authTokenSecret || 'GIT_AUTH_TOKEN';
  attrs[ATTR.gitAuthHeaderSecret] = opts.authHeaderSecret || 'GIT_AUTH_HEADER';
  if (opts.authTokenSecret || opts.authHeaderSecret) caps.push(Cap.SourceGitHTTPAuth);
  if (parsed.kind === 'ssh') {
    if (opts.knownSshHosts) attrs[ATTR.gitKnownSSHHosts] = opts.knownSshHosts;
    caps.push(Cap.SourceGitKnownSSHHosts);
    attrs[ATTR.gitMountSSHSock] = opts.mountSshSock || 'default';
    caps.push(Cap.SourceGitMountSSHSock);
  }
  return sourceState(new SourceVertex(`git://${id}`, attrs, caps, opConstraints(opts)));
}

// ---- http ----

export interface HTTPOptions extends OpOptions {
  /** Expected digest of the content, `sha256:<hex>`. */
  checksum?: string;
  /** Name of the downloaded file (default: from the URL). */
  filename?: string;
  /** Permission bits of the file. */
  perm?: number;
  uid?: number;
  gid?: number;
}

/** A single file downloaded by the daemon. */
export function http(url: string, opts: HTTPOptions = {}): State {
  if (!/^https?:\/\//.test(url)) throw invalid(`http source needs an http:// or https:// URL, got ${JSON.stringify(url)}`);
  const attrs: Record<string, string> = {};
  const caps: string[] = [Cap.SourceHTTP];
  if (opts.checksum) {
    if (!/^[a-z0-9]+:[a-f0-9]+$/.test(opts.checksum)) throw invalid(`http ${url}: checksum must look like sha256:<hex>`);
    attrs[ATTR.httpChecksum] = opts.checksum;
    caps.push(Cap.SourceHTTPChecksum);
  }
  if (opts.filename) attrs[ATTR.httpFilename] = opts.filename;
  if (opts.perm) {
    if (!Number.isInteger(opts.perm) || opts.perm < 0 || opts.perm > 0o7777) throw invalid(`http ${url}: perm must be between 0 and 0o7777`);
    attrs[ATTR.httpPerm] = '0' + opts.perm.toString(8);
    caps.push(Cap.SourceHTTPPerm);
  }
  if (opts.uid) {
    attrs[ATTR.httpUID] = String(opts.uid);
    caps.push(Cap.SourceHTTPUIDGID);
  }
  if (opts.gid) {
    attrs[ATTR.httpGID] = String(opts.gid);
    caps.push(Cap.SourceHTTPUIDGID);
  }
  return sourceState(new SourceVertex(url, attrs, caps, opConstraints(opts)));
}
