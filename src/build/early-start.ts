/**
 * What `stapelkit build` starts before its modules load: the loader's first git reads and the dial
 * to the daemon. Both wait on other processes (git, dockerd); the config, template and YAML modules
 * load, and the project renders, meanwhile. This module stays light: the build command imports it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { BuildkitClient } from '../buildkit/client';
import { dockerApiFor, type ImageSummary } from '../daemon/docker-api';
import { DEFAULT_BUILDKITD_SOCKET, DEFAULT_DOCKER_SOCKET, namedAddress, parseAddress, type DaemonAddress } from '../buildkit/transport';
import type { PrelistedImages } from '../storage/daemon-store';
import type { GitReader } from '../git/reader';
import { connectWithFlags } from '../daemon/cli-options';
import { openProjectGit } from '../project/git-open';
import { projectLoadOptions } from '../cli/commands/project-options';
import type { BuildFlags } from './run';

export interface EarlyStart {
  git: Promise<GitReader>;
  /** The daemon, when one is there already; undefined: connect once the project has loaded. */
  daemon: Promise<BuildkitClient | undefined>;
  /** The daemon image store's listing of the project's repo as werf.yaml on disk names it (a guess the storage checks). */
  stages?: PrelistedImages;
}

/**
 * The `project:` of the config file on disk when it is a plain name — a guess: the loader reads the
 * committed file and renders it, and the stages storage uses this listing only if the names agree.
 */
export function guessProjectName(dir: string, config?: string): string | undefined {
  for (const name of config ? [config] : ['werf.yaml', 'werf.yml']) {
    let text: string;
    try {
      text = fs.readFileSync(path.resolve(dir, name), 'latin1');
    } catch {
      continue;
    }
    const m = /^project:[ \t]*(["']?)([a-z0-9][a-z0-9._-]*)\1[ \t]*(?:#.*)?$/m.exec(text);
    return m?.[2];
  }
  return undefined;
}

/**
 * The dockerd that connect() will pick, when that needs no probe: --addr, BUILDKIT_HOST or
 * DOCKER_HOST naming a dockerd, or the default docker socket with no default buildkitd socket.
 * undefined: a buildkitd, a bad address (connect reports it), or a choice that needs the daemons asked.
 */
export function earlyDockerd(addr: string | undefined, env: NodeJS.ProcessEnv, sockets = { buildkitd: DEFAULT_BUILDKITD_SOCKET, docker: DEFAULT_DOCKER_SOCKET }): DaemonAddress | undefined {
  let a: DaemonAddress | undefined;
  try {
    // resolveAddress's order; of the default sockets, only the case it settles without a reply.
    a = namedAddress(addr, env)?.address;
    if (!a && !fs.existsSync(sockets.buildkitd) && fs.existsSync(sockets.docker)) a = parseAddress(`docker://unix://${sockets.docker}`);
  } catch {
    return undefined;
  }
  return a?.kind === 'dockerd' ? a : undefined;
}

/**
 * Only a daemon that is there already is dialed early (an address, BUILDKIT_HOST, DOCKER_HOST, a
 * default socket): Stapelkit's own dockerd is started, when needed, after the project has loaded.
 * A dial failure is reported after the project's own errors, and an unused connection is closed
 * (runBuild).
 */
export function startBuild(flags: BuildFlags, env: NodeJS.ProcessEnv, say: (line: string) => void): EarlyStart {
  let git: Promise<GitReader>;
  let project: string | undefined;
  try {
    const load = projectLoadOptions(flags, env);
    git = openProjectGit({ ...load, headListing: true });
    project = flags.repo ? undefined : guessProjectName(load.dir ?? process.cwd(), load.config);
  } catch (e) {
    git = Promise.reject(e);
  }
  // The listing goes out before the ping, not after its answer: from git's answer on, the render
  // keeps the main thread busy, and a listing asked then would be answered only after it.
  const dockerd = project === undefined ? undefined : earlyDockerd(flags.addr, env);
  const stages = project === undefined || !dockerd ? undefined : { repo: project, address: dockerd.text, images: dockerApiFor(dockerd)!.listImages(project) as Promise<ImageSummary[] | undefined> };
  stages?.images.catch(() => undefined);
  const daemon = connectWithFlags(flags, { env, say, embedded: false }).catch((e: unknown) => {
    if (e instanceof StapelkitError && e.code === 'NO_DAEMON') return undefined;
    throw e;
  });
  git.catch(() => undefined);
  daemon.catch(() => undefined);
  return { git, daemon, stages };
}
