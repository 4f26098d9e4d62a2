/**
 * A small client of the registry HTTP API v2 (distribution spec): tags, manifests (Docker schema 2,
 * OCI, lists/indexes), blobs (HEAD/GET, monolithic POST+PUT upload), image config. Plain http for
 * 127.0.0.1 / localhost / ::1 and for `insecure` registries (BuildKit's `registry.insecure`), https
 * otherwise. Authentication follows the 401 challenge (see auth.ts) with credentials from the Docker
 * CLI config, as the session's Auth service does for the daemon.
 */
import { createHash } from 'node:crypto';
import type { OciImageConfig } from '../build/gateway';
import { StapelkitError } from '../errors';
import { lookupCredentials } from '../session/auth';
import { registryFetch } from './ca-fetch';
import { basicHeader, fetchToken, parseChallenges, type Challenge, type RegistryCredentials } from './auth';
import {
  MANIFEST_ACCEPT,
  isIndexMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from './media-types';

export interface RegistryClientOptions {
  /** Speak plain http even to a non-local host. */
  insecure?: boolean;
  /** Fixed credentials; `null` forces anonymous; undefined reads the Docker CLI config on first 401. */
  credentials?: RegistryCredentials | null;
  /** Docker CLI config file to read credentials from (default `$DOCKER_CONFIG/config.json`). */
  dockerConfigPath?: string;
  fetch?: typeof fetch;
}

/** One entry of the registry's `{"errors":[…]}` body. */
export interface RegistryErrorDetail { code: string; message: string; detail?: unknown }

export class RegistryError extends StapelkitError {
  constructor(
    message: string,
    readonly status: number,
    readonly errors: RegistryErrorDetail[],
    hint?: string,
  ) {
    super('REGISTRY_ERROR', message, hint ? { hint } : {});
  }

  /** True when the registry says the repository, tag or blob does not exist. */
  get notFound(): boolean {
    return this.status === 404;
  }
}

export interface FetchedManifest {
  /** The manifest's media type (Content-Type, or the document's own mediaType field). */
  mediaType: string;
  /** `sha256:…` of the exact bytes. */
  digest: string;
  bytes: Buffer;
  manifest: ImageManifest | ImageIndex;
}

export interface ManifestHead { mediaType: string; digest: string; size: number }

export interface PlatformSpec { os: string; architecture: string; variant?: string }

export interface ImageConfigResult {
  /** Digest of the platform's image manifest (not of the list). */
  manifestDigest: string;
  manifest: ImageManifest;
  configDigest: string;
  config: OciImageConfig;
}

const LOCAL_HOST_RE = /^(?:localhost|127(?:\.\d{1,3}){3}|\[::1\])(?::\d+)?$/;

/** The API host for a reference domain (Docker Hub's registry lives elsewhere). */
export function registryApiHost(domain: string): string {
  return domain === 'docker.io' || domain === 'index.docker.io' ? 'registry-1.docker.io' : domain;
}

/** Digest of bytes in the digest's own algorithm (`sha256:…`, `sha512:…`). */
export function digestOf(bytes: Uint8Array, algorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`;
}

function verify(bytes: Buffer, digest: string, what: string): void {
  const algo = digest.slice(0, digest.indexOf(':'));
  if (algo !== 'sha256' && algo !== 'sha384' && algo !== 'sha512') return; // unknown algorithms are not checked
  const got = digestOf(bytes, algo);
  if (got !== digest) throw new StapelkitError('REGISTRY_DIGEST_MISMATCH', `${what}: content has digest ${got}, expected ${digest}`);
}

function platformOf(p: PlatformSpec | string): PlatformSpec {
  if (typeof p !== 'string') return p;
  const [os, architecture, variant] = p.split('/');
  return variant ? { os, architecture, variant } : { os, architecture };
}

interface RequestOptions {
  scope: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses that are not errors. */
  ok: number[];
}

export class RegistryClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private credentials: RegistryCredentials | null | undefined;
  private challenge?: Challenge;
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly host: string,
    private readonly opts: RegistryClientOptions = {},
  ) {
    const scheme = opts.insecure || LOCAL_HOST_RE.test(host) ? 'http' : 'https';
    this.baseUrl = `${scheme}://${registryApiHost(host)}`;
    this.fetchImpl = opts.fetch ?? registryFetch();
    this.credentials = opts.credentials;
  }

  /** GET /v2/: checks that the registry answers and that we may talk to it. */
  async ping(): Promise<void> {
    const res = await this.request('GET', '/v2/', { scope: '', ok: [200] });
    await res.arrayBuffer();
  }

  /** All tags of a repository, following `Link: <…>; rel="next"` pages. A repository that does not exist has none. */
  async listTags(repo: string, pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    let next: string | undefined = `/v2/${repo}/tags/list?n=${pageSize}`;
    while (next) {
      const res = await this.request('GET', next, { scope: pullScope(repo), ok: [200, 404] });
      if (res.status === 404) {
        const err = await this.errorOf(res, `list tags of ${repo}`);
        if (err.errors.some((e) => e.code === 'NAME_UNKNOWN')) return tags;
        throw err;
      }
      const body = (await res.json()) as { tags?: string[] | null };
      tags.push(...(body.tags ?? []));
      next = nextLink(res.headers.get('link'));
    }
    return tags;
  }

  /** A manifest by tag or digest; a digest reference is checked against the bytes. */
  async getManifest(repo: string, reference: string): Promise<FetchedManifest> {
    const res = await this.request('GET', `/v2/${repo}/manifests/${reference}`, {
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200],
    });
    const bytes = Buffer.from(await res.arrayBuffer());
    if (reference.includes(':')) verify(bytes, reference, `manifest ${repo}@${reference}`);
    const manifest = JSON.parse(bytes.toString('utf8')) as ImageManifest | ImageIndex;
    const mediaType = manifest.mediaType || contentType(res) || '';
    const digest = reference.includes(':') ? reference : digestOf(bytes);
    return { mediaType, digest, bytes, manifest };
  }

  /** The manifest's digest, media type and size without its body, or undefined when it does not exist. */
  async headManifest(repo: string, reference: string): Promise<ManifestHead | undefined> {
    const res = await this.request('HEAD', `/v2/${repo}/manifests/${reference}`, {
      scope: pullScope(repo),
      headers: { accept: MANIFEST_ACCEPT },
      ok: [200, 404],
    });
    if (res.status === 404) return undefined;
    const digest = res.headers.get('docker-content-digest');
    if (!digest) return this.getManifestHead(repo, reference);
    return { digest, mediaType: contentType(res) ?? '', size: Number(res.headers.get('content-length') ?? 0) };
  }

  private async getManifestHead(repo: string, reference: string): Promise<ManifestHead> {
    const m = await this.getManifest(repo, reference);
    return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
  }

  /** Uploads a manifest under a tag (or its digest); returns its digest. Blobs it names must exist. */
  async putManifest(repo: string, reference: string, manifest: Buffer | ImageManifest | ImageIndex, mediaType?: string): Promise<string> {
    const bytes = Buffer.isBuffer(manifest) ? manifest : Buffer.from(JSON.stringify(manifest));
    const mt = mediaType ?? (Buffer.isBuffer(manifest) ? (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType : manifest.mediaType);
    if (!mt) throw new StapelkitError('REGISTRY_ERROR', `manifest for ${repo}:${reference} has no media type`);
    const res = await this.request('PUT', `/v2/${repo}/manifests/${reference}`, {
      scope: pushScope(repo),
      headers: { 'content-type': mt },
      body: bytes,
      ok: [201, 200],
    });
    await res.arrayBuffer();
    const digest = digestOf(bytes);
    const said = res.headers.get('docker-content-digest');
    if (said && said !== digest) throw new StapelkitError('REGISTRY_DIGEST_MISMATCH', `registry stored manifest as ${said}, we sent ${digest}`);
    return digest;
  }

  /** Deletes a manifest by digest (the registry must allow deletes). */
  async deleteManifest(repo: string, digest: string): Promise<void> {
    const res = await this.request('DELETE', `/v2/${repo}/manifests/${digest}`, { scope: deleteScope(repo), ok: [202, 200] });
    await res.arrayBuffer();
  }

  /** The blob's size, or undefined when the repository does not have it. */
  async blobSize(repo: string, digest: string): Promise<number | undefined> {
    const res = await this.request('HEAD', `/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo), ok: [200, 404] });
    if (res.status === 404) return undefined;
    return Number(res.headers.get('content-length') ?? 0);
  }

  /** A blob's bytes, checked against its digest. */
  async getBlob(repo: string, digest: string): Promise<Buffer> {
    const res = await this.request('GET', `/v2/${repo}/blobs/${digest}`, { scope: pullScope(repo), ok: [200] });
    const bytes = Buffer.from(await res.arrayBuffer());
    verify(bytes, digest, `blob ${repo}@${digest}`);
    return bytes;
  }

  /**
   * Uploads a blob in one piece (POST for an upload URL, then PUT with `?digest=`); skipped when
   * the repository already has it. Returns its descriptor's digest and size.
   */
  async uploadBlob(repo: string, data: Buffer, digest = digestOf(data)): Promise<{ digest: string; size: number; existed: boolean }> {
    verify(data, digest, `blob for ${repo}`);
    if ((await this.blobSize(repo, digest)) !== undefined) return { digest, size: data.length, existed: true };
    const start = await this.request('POST', `/v2/${repo}/blobs/uploads/`, { scope: pushScope(repo), ok: [202] });
    await start.arrayBuffer();
    const location = start.headers.get('location');
    if (!location) throw new StapelkitError('REGISTRY_ERROR', `registry gave no upload location for ${repo}`);
    const url = new URL(location, this.baseUrl);
    url.searchParams.set('digest', digest);
    const put = await this.request('PUT', url.toString(), {
      scope: pushScope(repo),
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
      ok: [201, 204],
    });
    await put.arrayBuffer();
    return { digest, size: data.length, existed: false };
  }

  /** A JSON blob (an image config) parsed. */
  async getConfig<T = OciImageConfig>(repo: string, digest: string): Promise<T> {
    return JSON.parse((await this.getBlob(repo, digest)).toString('utf8')) as T;
  }

  /**
   * The image config behind a tag or digest; a list/index is resolved to `platform`
   * (default linux/amd64). This is where labels are read from.
   */
  async getImageConfig(repo: string, reference: string, platform: PlatformSpec | string = { os: 'linux', architecture: 'amd64' }): Promise<ImageConfigResult> {
    let fetched = await this.getManifest(repo, reference);
    if (isIndexMediaType(fetched.mediaType) || 'manifests' in fetched.manifest) {
      const want = platformOf(platform);
      const list = (fetched.manifest as ImageIndex).manifests;
      const pick =
        list.find((d) => d.platform?.os === want.os && d.platform?.architecture === want.architecture && (!want.variant || d.platform?.variant === want.variant)) ??
        undefined;
      if (!pick) {
        const have = list.map((d) => (d.platform ? `${d.platform.os}/${d.platform.architecture}${d.platform.variant ? `/${d.platform.variant}` : ''}` : '?')).join(', ');
        throw new StapelkitError('REGISTRY_NO_PLATFORM', `${repo}:${reference} has no manifest for ${want.os}/${want.architecture} (has ${have || 'none'})`);
      }
      fetched = await this.getManifest(repo, pick.digest);
    }
    const manifest = fetched.manifest as ImageManifest;
    if (!manifest.config) throw new StapelkitError('REGISTRY_ERROR', `${repo}:${reference} is not an image manifest (${fetched.mediaType})`);
    const config = await this.getConfig(repo, manifest.config.digest);
    return { manifestDigest: fetched.digest, manifest, configDigest: manifest.config.digest, config };
  }

  // ── HTTP with the challenge flow ──────────────────────────────────────────

  private async request(method: string, pathOrUrl: string, o: RequestOptions): Promise<Response> {
    const url = /^https?:\/\//.test(pathOrUrl) ? pathOrUrl : `${this.baseUrl}${pathOrUrl}`;
    let auth = await this.authorization(o.scope, false);
    for (let attempt = 0; ; attempt++) {
      const headers: Record<string, string> = { ...o.headers };
      if (auth) headers.authorization = auth;
      let res: Response;
      try {
        res = await this.fetchImpl(url, { method, headers, body: o.body, redirect: 'follow' });
      } catch (e) {
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw new StapelkitError('REGISTRY_UNREACHABLE', `cannot reach registry ${this.host} (${method} ${url}): ${cause?.code ?? cause?.message ?? (e as Error).message}`, {
          hint: this.baseUrl.startsWith('https:') ? 'a plain-http registry needs registry.insecure' : undefined,
          cause: e,
        });
      }
      if (res.status === 401 && attempt === 0) {
        const header = res.headers.get('www-authenticate') ?? '';
        await res.arrayBuffer();
        const ch = parseChallenges(header).find((c) => c.scheme === 'bearer' || c.scheme === 'basic');
        if (!ch) throw await this.errorOf(res, `${method} ${url}`, 'registry wants an authentication scheme we do not speak');
        this.challenge = ch;
        this.tokens.delete(o.scope);
        auth = await this.authorization(o.scope, true);
        if (auth) continue;
      }
      if (o.ok.includes(res.status)) return res;
      throw await this.errorOf(res, `${method} ${new URL(url).pathname}`);
    }
  }

  /** The Authorization header for `scope` once a challenge has been seen (undefined before). */
  private async authorization(scope: string, fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (!ch) return undefined;
    const creds = await this.creds();
    if (ch.scheme === 'basic') return creds ? basicHeader(creds) : undefined;
    let token = fresh ? undefined : this.tokens.get(scope);
    if (!token) {
      token = await fetchToken(ch, scope, creds, this.fetchImpl);
      this.tokens.set(scope, token);
    }
    return `Bearer ${token}`;
  }

  private async creds(): Promise<RegistryCredentials | undefined> {
    if (this.credentials === undefined) {
      const c = await lookupCredentials(this.host === 'registry-1.docker.io' ? 'docker.io' : this.host, this.opts.dockerConfigPath);
      this.credentials = c.Username || c.Secret ? { username: c.Username, secret: c.Secret } : null;
    }
    return this.credentials ?? undefined;
  }

  private async errorOf(res: Response, what: string, hint?: string): Promise<RegistryError> {
    let errors: RegistryErrorDetail[] = [];
    let text = '';
    try {
      text = await res.text();
      errors = ((JSON.parse(text) as { errors?: RegistryErrorDetail[] }).errors ?? []).filter((e) => e && typeof e.code === 'string');
    } catch {
      /* not JSON */
    }
    const said = errors.length > 0 ? errors.map((e) => `${e.code}: ${e.message}`).join('; ') : text.trim().slice(0, 200) || res.statusText;
    if (!hint && res.status === 401) hint = 'check the credentials for this registry in ~/.docker/config.json (docker login)';
    if (!hint && res.status === 403) hint = 'the credentials lack permission for this repository';
    return new RegistryError(`registry ${this.host}: ${what}: HTTP ${res.status} ${said}`, res.status, errors, hint);
  }
}

function pullScope(repo: string): string {
  return `repository:${repo}:pull`;
}
function pushScope(repo: string): string {
  return `repository:${repo}:pull,push`;
}
function deleteScope(repo: string): string {
  return `repository:${repo}:delete`;
}

function contentType(res: Response): string | undefined {
  return res.headers.get('content-type')?.split(';')[0].trim() || undefined;
}

/** The `rel="next"` target of a Link header. */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/.test(m[2])) return m[1];
  }
  return undefined;
}

export type { Descriptor };
