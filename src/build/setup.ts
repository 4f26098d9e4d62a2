/**
 * What `stapelkit build` and `stapelkit compile` share before the driver runs: the project loaded
 * and its images selected, the build context (git, sources, secrets, source maps), the session that
 * serves sources to the daemon, the platforms, and the driver options that pick each image's
 * conveyor. Only the daemon side differs: build connects and stores stages, compile connects
 * only when the graph needs a daemon and keeps the final graph.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { Image, Model } from '../config';
import { loadProject } from '../project';
import type { LoadedProject } from '../project';
import type { DockerApi } from '../daemon/docker-api';
import { userStateDir } from '../daemon/dockerd';
import { busyboxTag, ensureBusyboxImage, type BusyboxArch } from '../daemon/base-images';
import type { Session } from '../session';
import type { SecretsProvider } from '../session/secrets';
import { CliGitRepo } from '../git/cli-repo';
import type { GitReader } from '../git/reader';
import { formatPlatform, normalizePlatform, parsePlatform } from '../llb/platform';
import { projectLoadOptions, type ProjectFlags } from '../cli/commands/project-options';
import type { StagesStorage } from '../storage/types';
import type { DriverOptions, StageOutcome } from './driver';
import type { Gateway } from './gateway';
import { imagePlatforms, selectImages } from './plan';
import { stapelConveyor, StapelBuildContext } from './stapel';
import { dockerfileConveyor, dockerfileSshAgents } from './dockerfile-image';

export interface SetupFlags extends ProjectFlags {
  images: string[];
  platform?: string[];
  parallel?: boolean | string;
  parallelTasksLimit?: string;
  secret?: string[];
  ssh?: string[];
}

export interface SetupIO {
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export interface SetupOptions {
  /** `stapelkit stages`: compute and list, build nothing. */
  dryRun?: boolean;
  /** Fixed `local.unique` of local sources (compile: the same input gives the same bytes). */
  localUniqueId?: string;
  /** The project's git reader, already opened (openProjectGit). */
  git?: GitReader;
}

export interface ProjectSetup {
  project: LoadedProject;
  model: Model;
  images: Image[];
  git: CliGitRepo;
  ctx: StapelBuildContext;
  /** The session serving sources, secrets and ssh to the daemon: made (and attached to ctx) on first call. */
  session(): Session;
  env: NodeJS.ProcessEnv;
  /** `--platform` (or DOCKER_DEFAULT_PLATFORM), possibly empty. */
  platforms: string[];
  /** The platform of a daemon on this machine's architecture. */
  daemonDefault: string;
  note(line: string): void;
  /** The driver options both commands share (conveyors per image kind, platforms, git selection). */
  driverOptions(o: { gateway: () => Promise<Gateway>; storage: StagesStorage; stored?: DriverOptions['stored']; explain?: boolean; stageLine?: (o: StageOutcome) => void }): DriverOptions;
  close(): Promise<void>;
}

export function parallelLimit(f: Pick<SetupFlags, 'parallel' | 'parallelTasksLimit'>): number {
  if (f.parallel === false || f.parallel === 'false') return 1;
  if (typeof f.parallel === 'string' && /^\d+$/.test(f.parallel)) return Math.max(1, Number(f.parallel));
  const n = Number(f.parallelTasksLimit ?? '5');
  if (n === -1) return Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < 1) throw new StapelkitError('BAD_FLAG', `--parallel-tasks-limit must be a positive number or -1, got "${f.parallelTasksLimit}"`);
  return n;
}

export function cliPlatforms(f: Pick<SetupFlags, 'platform'>, env: NodeJS.ProcessEnv): string[] {
  const raw = (f.platform ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  if (raw.length === 0 && env.DOCKER_DEFAULT_PLATFORM) raw.push(env.DOCKER_DEFAULT_PLATFORM);
  return raw;
}

/**
 * Our own busybox fixture images are made locally, never pulled: make them when a project uses one —
 * as a Stapel `from`/import, or named anywhere in a Dockerfile image's Dockerfile (a FROM, or an ARG
 * default a FROM expands; a false match only costs loading a small local image).
 */
export async function ensureLocalBases(images: Image[], docker: DockerApi | undefined, env: NodeJS.ProcessEnv, projectDir?: string): Promise<void> {
  if (!docker) return;
  const want = new Set<BusyboxArch>();
  const arches: BusyboxArch[] = ['amd64', 'arm64'];
  for (const img of images) {
    if (img.kind === 'dockerfile') {
      if (projectDir === undefined) continue;
      let text: string;
      try {
        text = fs.readFileSync(path.join(projectDir, img.context, img.dockerfile), 'utf8');
      } catch {
        continue; // a missing Dockerfile is reported, positioned, by the Dockerfile conveyor
      }
      for (const a of arches) if (text.includes(busyboxTag(a))) want.add(a);
      continue;
    }
    const refs = [img.base.type === 'external' ? img.base.ref : '', ...img.imports.map((i) => (i.source.type === 'external' ? i.source.ref : ''))];
    for (const r of refs) for (const a of arches) if (r === busyboxTag(a)) want.add(a);
  }
  for (const a of want) await ensureBusyboxImage(docker, a, path.join(userStateDir(env), 'cache'));
}

export function openProjectSetup(flags: SetupFlags, io: SetupIO, opts: SetupOptions = {}): ProjectSetup {
  const env = io.env ?? process.env;
  const note = (line: string) => io.err.write(`${line}\n`);
  const project = loadProject({ ...projectLoadOptions(flags), headListing: true, git: opts.git });
  const model = project.model;
  for (const w of model.warnings) note(`warning: ${w.pos ? `${w.pos.file}:${w.pos.line}:${w.pos.column}: ` : ''}${w.message}`);
  const images = selectImages(model, flags.images ?? []);
  const git = new CliGitRepo(project.repoRoot);
  const head = project.commit;
  if (head.tree && head.tzOffset) git.remember({ hash: head.hash, tree: head.tree, authorTime: Math.floor(head.date.getTime() / 1000), tzOffset: head.tzOffset });
  // The loader listed HEAD's tree (with sizes) alongside its other first reads: the build's listing of it.
  if (project.headListing) git.seedListing(project.headListing.commit, project.headListing.raw);
  const ctx = new StapelBuildContext({ model, project, git, flags, env, dryRun: !!opts.dryRun, localUniqueId: opts.localUniqueId });
  let session: Session | undefined;
  const getSession = () => {
    if (!session) {
      // grpc-js is loaded with the first session: a compile that needs no daemon never loads it.
      const { Session: SessionImpl } = require('../session') as typeof import('../session');
      session = new SessionImpl({
        name: `stapelkit:${model.project}`,
        syncedDirs: { context: { dir: project.projectDir } },
        secrets: ctx.secrets() as SecretsProvider,
        ssh: [...ctx.sshAgents(), ...dockerfileSshAgents(images, env).filter((a) => !ctx.sshAgents().some((b) => b.id === a.id))],
      });
      ctx.attachSession(session);
    }
    return session;
  };
  const daemonDefault = formatPlatform(normalizePlatform(parsePlatform(process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64')));
  const platforms = cliPlatforms(flags, env);
  return {
    project,
    model,
    images,
    git,
    ctx,
    session: getSession,
    env,
    platforms,
    daemonDefault,
    note,
    driverOptions: (o) => ({
      gateway: o.gateway,
      storage: o.storage,
      stored: o.stored,
      images,
      platforms: (img) => imagePlatforms(model, img, platforms, daemonDefault),
      parallel: parallelLimit(flags),
      explain: !!o.explain,
      dryRun: !!opts.dryRun,
      marshal: (state, platform) => ctx.marshal(state, platform),
      hooks: {
        conveyor: (img, platform, built) => (img.kind === 'dockerfile' ? dockerfileConveyor(ctx, img, platform, built, { dev: !!flags.dev, loose: !!flags.looseGiterminism }) : stapelConveyor(ctx, img, platform, built)),
        git: ctx.selectionGit(),
        stageLine: o.stageLine,
      },
    }),
    close: async () => {
      ctx.close();
      await session?.close().catch(() => undefined);
      git.close();
    },
  };
}
