/**
 * Remote git repositories as werf uses them: a `git clone --mirror` in a cache directory keyed by the
 * repository endpoint (werf's repo id), fetched again only when the wanted branch moved or the wanted
 * tag/commit is missing.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { CliGitRepo } from './cli-repo';
import { gitRun } from './proc';
import type { CommitMeta } from './repo';

export interface RemoteRef {
  branch?: string;
  tag?: string;
  commit?: string;
}

export interface RemoteAuth {
  username?: string;
  password?: string;
}

export interface OpenedRemote {
  repo: CliGitRepo;
  /** The commit the ref names now. */
  commit: CommitMeta;
  /** The mirror directory. */
  dir: string;
  /** Whether this call cloned or fetched (false: the cache answered). */
  fetched: boolean;
}

/**
 * werf's repo id for a remote (`Remote.getRepoID`): sha256 hex of `protocol-<proto>/<host[:port]>/<path>`
 * of the URL's endpoint. One mirror per repository, shared by every branch/tag/commit of it.
 */
export function remoteRepoId(url: string): string {
  let proto: string;
  let host: string;
  let p: string;
  const scp = /^(?:([^@/]+)@)?([^:/]+):(?!\/\/)(.*)$/.exec(url);
  const m = /^([a-z][a-z0-9+.-]*):\/\/(?:[^@/]*@)?([^/]*)(\/.*)?$/i.exec(url);
  if (m) {
    proto = m[1].toLowerCase();
    host = m[2];
    p = m[3] ?? '';
  } else if (scp && !url.startsWith('/')) {
    proto = 'ssh';
    host = scp[2];
    p = scp[3];
  } else {
    proto = 'file';
    host = '';
    p = url;
  }
  const joined = path.posix.join(`protocol-${proto}`, host, p);
  return createHash('sha256').update(joined).digest('hex');
}

/** Credentials go in an HTTP header for the one command, never into the mirror's config on disk. */
function authArgs(auth?: RemoteAuth): string[] {
  if (!auth || (!auth.username && !auth.password)) return [];
  const token = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
  return ['-c', `http.extraHeader=Authorization: Basic ${token}`];
}

/** The URL without userinfo, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

const inflight = new Map<string, Promise<OpenedRemote>>();

/**
 * Clone (first use) or update the mirror of `url` under `cacheDir` and resolve `ref`.
 * Default ref (none given): the remote's HEAD, as werf does.
 */
export function openRemote(url: string, ref: RemoteRef, cacheDir: string, opts: { auth?: RemoteAuth } = {}): Promise<OpenedRemote> {
  const key = remoteRepoId(url);
  const dir = path.join(path.resolve(cacheDir), key);
  // One clone/fetch per mirror at a time within this process.
  const prev = inflight.get(dir) ?? Promise.resolve(undefined);
  const next = prev.catch(() => undefined).then(() => openRemoteNow(url, ref, dir, opts.auth));
  inflight.set(dir, next);
  next.finally(() => { if (inflight.get(dir) === next) inflight.delete(dir); }).catch(() => undefined);
  return next;
}

async function openRemoteNow(url: string, ref: RemoteRef, dir: string, auth?: RemoteAuth): Promise<OpenedRemote> {
  const shown = redactUrl(url);
  let fetched = false;
  if (!fs.existsSync(path.join(dir, 'HEAD'))) {
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    // Clone beside the final place and rename: a concurrent or interrupted clone leaves no half mirror.
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    try {
      await gitRun(path.dirname(dir), [...authArgs(auth), 'clone', '--mirror', '--quiet', '--', url, tmp]);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw new StapelkitError('GIT_REMOTE', `cannot clone ${shown}: ${(e as Error).message}`, { cause: e });
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(path.join(dir, 'HEAD'))) throw e; // someone else won the race otherwise
    }
    fetched = true;
  }
  const repo = new CliGitRepo(dir);
  const fetch = async () => {
    try {
      await gitRun(dir, [...authArgs(auth), 'fetch', '--prune', '--quiet', 'origin']);
    } catch (e) {
      throw new StapelkitError('GIT_REMOTE', `cannot fetch ${shown}: ${(e as Error).message}`, { cause: e });
    }
    fetched = true;
  };

  if (ref.commit) {
    if (!fetched && !(await repo.hasCommit(ref.commit))) await fetch();
    if (!(await repo.hasCommit(ref.commit))) {
      throw new StapelkitError('GIT_COMMIT_NOT_FOUND', `commit "${ref.commit}" not found in repository ${shown}. Ensure it has not been squashed or rebased`);
    }
    return { repo, commit: await repo.resolve(ref.commit), dir, fetched };
  }
  if (ref.tag) {
    const name = `refs/tags/${ref.tag}`;
    if (!fetched && !(await hasRef(dir, name))) await fetch();
    if (!(await hasRef(dir, name))) throw new StapelkitError('GIT_REF_NOT_FOUND', `tag "${ref.tag}" not found in repository ${shown}`);
    return { repo, commit: await repo.resolve(name), dir, fetched };
  }
  // A branch (or the remote HEAD) may move: compare with the remote before trusting the mirror.
  const name = ref.branch ? `refs/heads/${ref.branch}` : 'HEAD';
  if (!fetched) {
    const remote = await lsRemote(dir, name, auth, shown);
    const local = await localRef(dir, name);
    if (remote === undefined || remote !== local) await fetch();
  }
  if ((await localRef(dir, name)) === undefined) {
    throw new StapelkitError('GIT_REF_NOT_FOUND', ref.branch ? `branch "${ref.branch}" not found in repository ${shown}` : `repository ${shown} has no HEAD`);
  }
  return { repo, commit: await repo.resolve(name), dir, fetched };
}

async function hasRef(dir: string, name: string): Promise<boolean> {
  return (await localRef(dir, name)) !== undefined;
}

async function localRef(dir: string, name: string): Promise<string | undefined> {
  const r = await gitRun(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', name + '^{commit}'], { okCodes: [1, 128] });
  return r.code === 0 ? r.stdout.toString().trim() : undefined;
}

async function lsRemote(dir: string, name: string, auth: RemoteAuth | undefined, shown: string): Promise<string | undefined> {
  let r;
  try {
    r = await gitRun(dir, [...authArgs(auth), 'ls-remote', 'origin', name]);
  } catch (e) {
    throw new StapelkitError('GIT_REMOTE', `cannot reach ${shown}: ${(e as Error).message}`, { cause: e });
  }
  for (const line of r.stdout.toString().split('\n')) {
    const [oid, ref] = line.split('\t');
    if (ref === name) return oid;
  }
  return undefined;
}
