/**
 * Registry credentials for the daemon (Auth.Credentials), read from the Docker CLI config
 * (`$DOCKER_CONFIG/config.json` or `~/.docker/config.json`): `credHelpers`/`credsStore` helpers, then
 * `auths` entries with base64 `auth` (or username/password, identitytoken). Like BuildKit's
 * authprovider, Docker Hub hosts map to the legacy `https://index.docker.io/v1/` key.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn } from 'node:child_process';

export interface Credentials { Username: string; Secret: string }

interface AuthEntry { auth?: string; username?: string; password?: string; identitytoken?: string }
interface DockerConfig { auths?: Record<string, AuthEntry>; credHelpers?: Record<string, string>; credsStore?: string }

function dockerConfigPath(): string {
  const dir = process.env.DOCKER_CONFIG || path.join(os.homedir(), '.docker');
  return path.join(dir, 'config.json');
}

/** docker/cli's ConvertToHostname: strip scheme and path. */
function toHostname(key: string): string {
  let s = key;
  if (s.startsWith('http://')) s = s.slice(7);
  else if (s.startsWith('https://')) s = s.slice(8);
  const slash = s.indexOf('/');
  return slash < 0 ? s : s.slice(0, slash);
}

function runHelper(helper: string, host: string): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(`docker-credential-${helper}`, ['get'], { stdio: ['pipe', 'pipe', 'ignore'] });
    } catch {
      return resolve(undefined);
    }
    child.on('error', () => resolve(undefined));
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); });
    child.on('close', (code) => {
      if (code !== 0) return resolve(undefined); // "credentials not found" exits non-zero
      try {
        const j = JSON.parse(out) as { Username?: string; Secret?: string };
        if (j.Username === '<token>') return resolve({ Username: '', Secret: j.Secret ?? '' });
        resolve({ Username: j.Username ?? '', Secret: j.Secret ?? '' });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin.end(host);
  });
}

function fromEntry(e: AuthEntry): Credentials {
  if (e.identitytoken) return { Username: '', Secret: e.identitytoken };
  let username = e.username ?? '';
  let password = e.password ?? '';
  if (e.auth) {
    const decoded = Buffer.from(e.auth, 'base64').toString();
    const i = decoded.indexOf(':');
    if (i >= 0) { username = decoded.slice(0, i); password = decoded.slice(i + 1); }
  }
  return { Username: username, Secret: password };
}

/** Credentials for `host` or anonymous (empty strings) when none are configured. */
export async function lookupCredentials(host: string, configPath = dockerConfigPath()): Promise<Credentials> {
  const anonymous = { Username: '', Secret: '' };
  let cfg: DockerConfig;
  try {
    cfg = JSON.parse(fs.readFileSync(configPath, 'utf8')) as DockerConfig;
  } catch {
    return anonymous;
  }
  const key = host === 'registry-1.docker.io' || host === 'docker.io' ? 'https://index.docker.io/v1/' : host;
  const helper = cfg.credHelpers?.[key] ?? cfg.credsStore;
  if (helper) {
    const c = await runHelper(helper, key);
    if (c) return c;
  }
  const auths = cfg.auths ?? {};
  if (auths[key]) return fromEntry(auths[key]);
  for (const [k, v] of Object.entries(auths)) if (toHostname(k) === toHostname(key)) return fromEntry(v);
  return anonymous;
}
