/**
 * A minimal Docker Engine API client over a unix socket or plain tcp (node:http): just what Stapelkit needs to
 * run its own dockerd (ping), load locally made base images, inspect images, and — in tests — run a
 * container and read its output. Unversioned paths: dockerd 20.10 serves them at its own API version.
 */
import * as http from 'node:http';
import { StapelkitError } from '../errors';
import { PLAIN_HTTP, dockerPing } from '../buildkit/hijack';
import type { DaemonAddress } from '../buildkit/transport';

export interface DockerResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface DockerRequestOptions {
  method?: string;
  body?: Buffer | string | NodeJS.ReadableStream;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A non-2xx answer as an error carrying dockerd's own message (the `message` of its JSON body). */
function apiError(what: string, res: DockerResponse): StapelkitError {
  let msg = res.body.toString().trim();
  try {
    msg = (JSON.parse(msg) as { message?: string }).message ?? msg;
  } catch {
    /* plain text answer */
  }
  return new StapelkitError('DOCKER_API', `docker API ${what}: ${res.status} ${msg}`);
}

/** Where dockerd's API listens: a unix socket path, or host:port (plain http, as `DOCKER_HOST=tcp://` without TLS). */
export type DockerEndpoint = string | { host: string; port: number };

/** The Docker API of a dockerd address, or undefined for a buildkitd (no Docker API there). */
export function dockerApiFor(address: DaemonAddress): DockerApi | undefined {
  if (address.kind !== 'dockerd') return undefined;
  return new DockerApi(address.net === 'unix' ? address.path : { host: address.host, port: address.port });
}

export class DockerApi {
  constructor(readonly endpoint: DockerEndpoint) {}

  /** The unix socket path ('' for a tcp endpoint). */
  get socketPath(): string {
    return typeof this.endpoint === 'string' ? this.endpoint : '';
  }

  request(path: string, opts: DockerRequestOptions = {}): Promise<DockerResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = { Host: 'docker', ...(opts.headers ?? {}) };
      if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
      if (opts.body && !headers['Content-Type']) headers['Content-Type'] = 'application/json';
      const where = typeof this.endpoint === 'string' ? { socketPath: this.endpoint } : { host: this.endpoint.host, port: this.endpoint.port };
      // servername '': plain HTTP, and it spares the agent's isIP check (a ~7 ms regex compile at start-up).
      const req = http.request({ ...where, path, method: opts.method ?? 'GET', headers, ...PLAIN_HTTP }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error(`docker API ${path}: no answer within ${opts.timeoutMs} ms`)));
      if (opts.body === undefined) req.end();
      else if (typeof opts.body === 'string' || Buffer.isBuffer(opts.body)) req.end(opts.body);
      else (opts.body as NodeJS.ReadableStream).pipe(req);
    });
  }

  /** Like request(), but a non-2xx answer becomes an error carrying dockerd's own message. */
  async call(path: string, opts: DockerRequestOptions = {}): Promise<DockerResponse> {
    const res = await this.request(path, opts);
    if (res.status < 200 || res.status >= 300) throw apiError(`${opts.method ?? 'GET'} ${path}`, res);
    return res;
  }

  async json<T = any>(path: string, opts: DockerRequestOptions = {}): Promise<T> {
    const res = await this.call(path, opts);
    return JSON.parse(res.body.toString()) as T;
  }

  /** true when `/_ping` answers OK within timeoutMs. */
  async ping(timeoutMs = 2000): Promise<boolean> {
    if (typeof this.endpoint === 'string') return dockerPing(this.endpoint, timeoutMs);
    try {
      const res = await this.request('/_ping', { timeoutMs });
      return res.status === 200 && res.body.toString().trim() === 'OK';
    } catch {
      return false;
    }
  }

  /** The image's inspect JSON, or undefined when there is no such image. */
  async inspectImage(name: string): Promise<ImageInspect | undefined> {
    const res = await this.request(`/images/${encodeURIComponent(name)}/json`);
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw apiError(`inspect image ${name}`, res);
    return JSON.parse(res.body.toString()) as ImageInspect;
  }

  /** `POST /images/load` of a docker-save style tarball; dockerd's streamed JSON errors become exceptions. */
  async loadImage(tarball: Buffer): Promise<void> {
    const res = await this.call('/images/load?quiet=1', { method: 'POST', body: tarball, headers: { 'Content-Type': 'application/x-tar' } });
    for (const line of res.body.toString().split('\n')) {
      if (!line.trim()) continue;
      const msg = JSON.parse(line) as { error?: string; errorDetail?: { message?: string } };
      if (msg.error) throw new StapelkitError('DOCKER_API', `docker API: image load failed: ${msg.errorDetail?.message ?? msg.error}`);
    }
  }

  /** `GET /images/json` with a `reference` filter (one call): every tag of `repo` with its labels. */
  async listImages(reference: string): Promise<ImageSummary[]> {
    const filters = encodeURIComponent(JSON.stringify({ reference: [reference] }));
    return (await this.json<ImageSummary[] | null>(`/images/json?filters=${filters}`, { timeoutMs: 60_000 })) ?? [];
  }

  /** `POST /images/{image}/tag`: names `image` (id or name) `repo:tag` (moves the tag if it exists). */
  async tagImage(image: string, repo: string, tag: string): Promise<void> {
    await this.call(`/images/${encodeURIComponent(image)}/tag?repo=${encodeURIComponent(repo)}&tag=${encodeURIComponent(tag)}`, { method: 'POST' });
  }

  /** Removes one tag (`repo:tag`) without force: the image stays while other tags use it. */
  async untagImage(name: string): Promise<void> {
    const res = await this.request(`/images/${encodeURIComponent(name)}?noprune=0`, { method: 'DELETE' });
    if (res.status !== 200 && res.status !== 404) throw apiError(`untag image ${name}`, res);
  }

  /**
   * `POST /images/{repo}/push?tag=` with `X-Registry-Auth` (base64url JSON; `{}` for anonymous).
   * dockerd answers 200 and streams JSON progress; an error arrives as a stream message. Resolves
   * with the pushed manifest digest when dockerd reports it.
   */
  async pushImage(repo: string, tag: string, auth: { username?: string; password?: string; serveraddress?: string } = {}): Promise<{ digest?: string }> {
    const header = Buffer.from(JSON.stringify(auth)).toString('base64url');
    const res = await this.call(`/images/${encodeURIComponent(repo)}/push?tag=${encodeURIComponent(tag)}`, { method: 'POST', headers: { 'X-Registry-Auth': header }, timeoutMs: 30 * 60_000 });
    let digest: string | undefined;
    for (const line of res.body.toString().split('\n')) {
      if (!line.trim()) continue;
      let msg: { error?: string; errorDetail?: { message?: string }; aux?: { Digest?: string } };
      try {
        msg = JSON.parse(line);
      } catch {
        continue;
      }
      if (msg.error) throw new StapelkitError('DOCKER_PUSH', `docker API: push of ${repo}:${tag} failed: ${msg.errorDetail?.message ?? msg.error}`);
      if (msg.aux?.Digest) digest = msg.aux.Digest;
    }
    return { digest };
  }

  async removeImage(name: string): Promise<void> {
    const res = await this.request(`/images/${encodeURIComponent(name)}?force=1`, { method: 'DELETE' });
    if (res.status !== 200 && res.status !== 404) throw apiError(`remove image ${name}`, res);
  }

  /**
   * Runs `cmd` in a new container of `image` (no network), waits for it, and returns its exit code
   * and output (stdout and stderr demultiplexed). The container is removed afterwards.
   */
  async run(image: string, cmd: string[], opts: { platform?: string; user?: string; env?: string[]; timeoutMs?: number } = {}): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const q = opts.platform ? `?platform=${encodeURIComponent(opts.platform)}` : '';
    const created = await this.json<{ Id: string }>(`/containers/create${q}`, {
      method: 'POST',
      body: JSON.stringify({ Image: image, Cmd: cmd, User: opts.user ?? '', Env: opts.env ?? [], NetworkDisabled: true, HostConfig: { NetworkMode: 'none' } }),
    });
    const id = created.Id;
    try {
      await this.call(`/containers/${id}/start`, { method: 'POST' });
      const waited = await this.json<{ StatusCode: number }>(`/containers/${id}/wait`, { method: 'POST', timeoutMs: opts.timeoutMs ?? 60000 });
      const logs = await this.call(`/containers/${id}/logs?stdout=1&stderr=1`);
      const { stdout, stderr } = demuxDockerStream(logs.body);
      return { exitCode: waited.StatusCode, stdout, stderr };
    } finally {
      await this.request(`/containers/${id}?force=1`, { method: 'DELETE' }).catch(() => undefined);
    }
  }
}

/** One entry of `GET /images/json`. */
export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  RepoDigests?: string[] | null;
  Labels?: Record<string, string> | null;
  /** Unix seconds. */
  Created?: number;
  Size?: number;
}

export interface ImageInspect {
  Id: string;
  RepoTags?: string[];
  Architecture: string;
  Os: string;
  Variant?: string;
  Config?: { Env?: string[]; Cmd?: string[]; Entrypoint?: string[]; WorkingDir?: string; User?: string; Labels?: Record<string, string>; ExposedPorts?: Record<string, unknown>; Volumes?: Record<string, unknown> };
  RootFS?: { Type: string; Layers?: string[] };
}

/** Docker's multiplexed log stream: frames of [stream(1) 0 0 0 size(4 BE)] + payload. */
function demuxDockerStream(buf: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let off = 0;
  while (off + 8 <= buf.length) {
    const kind = buf[off];
    const size = buf.readUInt32BE(off + 4);
    const payload = buf.subarray(off + 8, off + 8 + size);
    (kind === 2 ? err : out).push(payload);
    off += 8 + size;
  }
  return { stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
