/**
 * A `fetch` for the registry client over node:http/node:https with a CA list of our own: Node's
 * built-in fetch only trusts the CAs Node loaded at start-up, and bin/stapelkit keeps
 * $NODE_EXTRA_CA_CERTS from that (src/util/extra-ca.ts). Covers what RegistryClient and the token
 * flow use: method, headers, a Buffer/string/URLSearchParams body, redirects (authorization dropped
 * when the origin changes, as fetch does — registries redirect blobs to signed storage URLs), and a
 * buffered Response. Errors are fetch's: a TypeError "fetch failed" whose cause is the socket error.
 */
import type * as http from 'node:http';
import type * as https from 'node:https';
import { defaultCaCertificates, hasDeferredCa } from '../util/extra-ca';

const REDIRECT = new Set([301, 302, 303, 307, 308]);
// Statuses a Response may not have a body for.
const NULL_BODY = new Set([101, 204, 205, 304]);
const MAX_REDIRECTS = 20;

function bodyBytes(body: unknown, headers: Headers): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') {
    if (!headers.has('content-type')) headers.set('content-type', 'text/plain;charset=UTF-8');
    return Buffer.from(body, 'utf8');
  }
  if (body instanceof URLSearchParams) {
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded;charset=UTF-8');
    return Buffer.from(body.toString(), 'utf8');
  }
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError(`ca-fetch: unsupported body type ${Object.prototype.toString.call(body)}`);
}

function failed(cause: unknown): TypeError {
  return new TypeError('fetch failed', { cause });
}

function send(url: URL, method: string, headers: Headers, body: Buffer | undefined, agent: https.Agent): Promise<http.IncomingMessage> {
  const h: Record<string, string> = {};
  headers.forEach((v, k) => (h[k] = v));
  if (body) h['content-length'] = String(body.length);
  const opts: https.RequestOptions = { method, headers: h };
  return new Promise((resolve, reject) => {
    // Required here: most commands never make a registry request (node:https pulls in node:tls).
    const req = url.protocol === 'https:' ? (require('node:https') as typeof https).request(url, { ...opts, agent }) : (require('node:http') as typeof http).request(url, opts);
    req.once('response', resolve);
    req.once('error', (e) => reject(failed(e)));
    req.end(body);
  });
}

async function toResponse(res: http.IncomingMessage, method: string): Promise<Response> {
  const chunks: Buffer[] = [];
  try {
    for await (const c of res) chunks.push(c as Buffer);
  } catch (e) {
    throw failed(e);
  }
  const headers = new Headers();
  for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i], res.rawHeaders[i + 1]);
  const status = res.statusCode ?? 0;
  const body = NULL_BODY.has(status) || method === 'HEAD' ? null : Buffer.concat(chunks);
  return new Response(body, { status, statusText: res.statusMessage ?? '', headers });
}

/** A fetch whose https connections trust exactly `ca`. */
export function fetchWithCa(ca: string[]): typeof fetch {
  const agent = new (require('node:https') as typeof https).Agent({ ca, keepAlive: true });
  const caFetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
    let method = (init.method ?? 'GET').toUpperCase();
    const headers = new Headers(init.headers);
    let body = bodyBytes(init.body, headers);
    for (let hop = 0; ; hop++) {
      const res = await send(url, method, headers, body, agent);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (!REDIRECT.has(status) || location === undefined || init.redirect === 'manual') return toResponse(res, method);
      res.resume();
      if (init.redirect === 'error') throw failed(new Error(`unexpected redirect to ${location}`));
      if (hop >= MAX_REDIRECTS) throw failed(new Error('redirect count exceeded'));
      const next = new URL(location, url);
      if (status === 303 ? method !== 'HEAD' : (status === 301 || status === 302) && method === 'POST') {
        method = 'GET';
        body = undefined;
        for (const k of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(k);
      }
      if (next.origin !== url.origin) headers.delete('authorization');
      url = next;
    }
  };
  return caFetch as typeof fetch;
}

/**
 * The registry client's default fetch: Node's own, except for https URLs when bin/stapelkit deferred
 * $NODE_EXTRA_CA_CERTS — those go through fetchWithCa with Node's roots plus that file. (An http
 * URL that redirects to https stays on Node's fetch: registries on plain http are local ones.)
 */
export function registryFetch(): typeof fetch {
  let withCa: typeof fetch | undefined;
  const f = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (url.startsWith('https:') && hasDeferredCa()) {
      withCa ??= fetchWithCa(defaultCaCertificates()!);
      return withCa(input, init);
    }
    return fetch(input, init);
  };
  return f as typeof fetch;
}
