/**
 * Registry authentication (distribution's token spec): a request that gets 401 carries a
 * `WWW-Authenticate` challenge — `Basic realm=…` (send the credentials) or `Bearer realm=…,service=…`
 * (fetch a token from realm for the scope, with the credentials as basic auth when there are any, or
 * as an OAuth2 refresh token when the Docker config holds an identity token) — and is retried once.
 */
import { StapelkitError } from '../errors';

export interface RegistryCredentials {
  /** Empty with a non-empty secret: the secret is an identity (refresh) token. */
  username: string;
  secret: string;
}

export interface Challenge {
  scheme: string; // lower case: 'basic' | 'bearer' | …
  params: Record<string, string>;
}

/** Parses `WWW-Authenticate` (RFC 7235): one or more `scheme k=v, k="v"` challenges. */
export function parseChallenges(header: string): Challenge[] {
  const out: Challenge[] = [];
  let i = 0;
  const skip = () => {
    while (i < header.length && /[\s,]/.test(header[i])) i++;
  };
  const token = () => {
    const m = /^[^\s,=]+/.exec(header.slice(i));
    i += m ? m[0].length : 0;
    return m ? m[0] : '';
  };
  for (skip(); i < header.length; skip()) {
    const word = token();
    if (!word) break;
    let j = i;
    while (j < header.length && header[j] === ' ') j++;
    if (header[j] !== '=' || out.length === 0) {
      out.push({ scheme: word.toLowerCase(), params: {} });
      continue;
    }
    i = j + 1;
    while (i < header.length && header[i] === ' ') i++;
    let value = '';
    if (header[i] === '"') {
      for (i++; i < header.length && header[i] !== '"'; i++) value += header[i] === '\\' ? header[++i] ?? '' : header[i];
      i++;
    } else {
      value = token();
    }
    out[out.length - 1].params[word.toLowerCase()] = value;
  }
  return out;
}

export function basicHeader(c: RegistryCredentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.secret}`).toString('base64')}`;
}

/** Fetches a bearer token for `scope` from the challenge's realm. */
export async function fetchToken(
  challenge: Challenge,
  scope: string,
  creds: RegistryCredentials | undefined,
  fetchImpl: typeof fetch,
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new StapelkitError('REGISTRY_AUTH', 'registry sent a Bearer challenge without a realm');
  const service = challenge.params.service;
  let res: Response;
  if (creds && !creds.username && creds.secret) {
    // OAuth2 refresh-token grant with the identity token from `docker login`.
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.secret, client_id: 'stapelkit' });
    if (service) form.set('service', service);
    if (scope) form.set('scope', scope);
    res = await fetchImpl(realm, { method: 'POST', body: form, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
  } else {
    const u = new URL(realm);
    if (service) u.searchParams.set('service', service);
    if (scope) u.searchParams.set('scope', scope);
    const headers: Record<string, string> = {};
    if (creds && creds.username) headers.authorization = basicHeader(creds);
    res = await fetchImpl(u, { headers });
  }
  const text = await res.text();
  if (res.status !== 200) {
    throw new StapelkitError('REGISTRY_AUTH', `token server ${realm} refused ${scope || 'access'}: HTTP ${res.status} ${text.slice(0, 200).trim()}`, {
      hint: creds ? 'check the credentials in ~/.docker/config.json' : 'log in first (docker login)',
    });
  }
  let body: { token?: string; access_token?: string };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    throw new StapelkitError('REGISTRY_AUTH', `token server ${realm} sent no JSON`);
  }
  const token = body.token || body.access_token;
  if (!token) throw new StapelkitError('REGISTRY_AUTH', `token server ${realm} sent no token`);
  return token;
}
