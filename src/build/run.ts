/**
 * `stapelkit build` / `stapelkit stages`: the I/O shell around the driver. Loads the project, opens
 * the daemon, the session (git content, secrets, ssh), the stages storage and — lazily — the
 * Control-API gateway, runs the driver, writes the build report and the custom tags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { loadProject, type Image, type Model } from '../config';
import { connectWithFlags, progressFromFlags, type DaemonFlags } from '../daemon/cli-options';
import { openGateway } from '../buildkit/gateway-client';
import type { BuildkitClient } from '../buildkit/client';
import { DockerApi } from '../daemon/docker-api';
import { userStateDir } from '../daemon/dockerd';
import { busyboxTag, ensureBusyboxImage, type BusyboxArch } from '../daemon/base-images';
import { Session } from '../session';
import type { SecretsProvider } from '../session/secrets';
import { CliGitRepo } from '../git/cli-repo';
import { formatPlatform, normalizePlatform, parsePlatform } from '../llb/platform';
import { projectLoadOptions, type ProjectFlags } from '../cli/commands/project-options';
import type { StagesStorage } from '../storage/types';
import { runDriver, type ImageOutcome, type StageOutcome } from './driver';
import type { Gateway } from './gateway';
import { formatExplain, formatStageLine } from './lines';
import { userCommandError } from './stage-error';
import { imagePlatforms, selectImages } from './plan';
import { buildReport } from './report-build';
import { formatReport } from './report';
import { openStagesStorage } from '../storage';
import { stapelConveyor, StapelBuildContext } from './stapel';
import { dockerfileConveyor, dockerfileSshAgents } from './dockerfile-image';

export interface BuildFlags extends DaemonFlags, ProjectFlags {
  images: string[];
  repo?: string;
  platform?: string[];
  parallel?: boolean | string;
  parallelTasksLimit?: string;
  addCustomTag?: string[];
  secret?: string[];
  ssh?: string[];
  explain?: boolean;
  saveBuildReport?: boolean;
  buildReportPath?: string;
  /** `stapelkit stages`: compute and list, build nothing. */
  dryRun?: boolean;
}

export interface BuildIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export interface BuildSummary {
  images: ImageOutcome[];
  stages: StageOutcome[];
}

function parallelLimit(f: BuildFlags): number {
  if (f.parallel === false || f.parallel === 'false') return 1;
  if (typeof f.parallel === 'string' && /^\d+$/.test(f.parallel)) return Math.max(1, Number(f.parallel));
  const n = Number(f.parallelTasksLimit ?? '5');
  if (n === -1) return Number.MAX_SAFE_INTEGER;
  if (!Number.isInteger(n) || n < 1) throw new StapelkitError('BAD_FLAG', `--parallel-tasks-limit must be a positive number or -1, got "${f.parallelTasksLimit}"`);
  return n;
}

function cliPlatforms(f: BuildFlags, env: NodeJS.ProcessEnv): string[] {
  const raw = (f.platform ?? []).flatMap((p) => p.split(',')).map((p) => p.trim()).filter(Boolean);
  if (raw.length === 0 && env.DOCKER_DEFAULT_PLATFORM) raw.push(env.DOCKER_DEFAULT_PLATFORM);
  return raw;
}

/** Our own busybox fixture images are made locally, never pulled: make them when a project uses one. */
async function ensureLocalBases(model: Model, images: Image[], docker: DockerApi | undefined, env: NodeJS.ProcessEnv): Promise<void> {
  if (!docker) return;
  const want = new Set<BusyboxArch>();
  for (const img of images) {
    if (img.kind !== 'stapel') continue;
    const refs = [img.base.type === 'external' ? img.base.ref : '', ...img.imports.map((i) => (i.source.type === 'external' ? i.source.ref : ''))];
    for (const r of refs) for (const a of ['amd64', 'arm64'] as BusyboxArch[]) if (r === busyboxTag(a)) want.add(a);
  }
  for (const a of want) await ensureBusyboxImage(docker, a, path.join(userStateDir(env), 'cache'));
  void model;
}

/** werf's slug: lowercase, runs of other characters → `-`, trimmed. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/** `--add-custom-tag`: tags every final image in the stages storage's repository (werf's template variables). */
async function addCustomTags(storage: StagesStorage, images: ImageOutcome[], templates: string[], docker: DockerApi | undefined): Promise<string[]> {
  const finals = images.filter((i) => i.image.final);
  const out: string[] = [];
  for (const t of templates) {
    if (finals.length > 1 && !t.includes('%image')) throw new StapelkitError('BAD_FLAG', `--add-custom-tag ${t}: with several final images the tag must contain %image%, %image_slug% or %image_safe_slug%`);
  }
  if (!docker || !storage.persistent) throw new StapelkitError('NOT_SUPPORTED', '--add-custom-tag needs a stages storage in the daemon image store here');
  for (const img of finals) {
    const name = img.image.name;
    const contentTag = img.last.labels['werf-stage-content-digest'] ?? img.last.digest;
    for (const t of templates) {
      const tag = t.replaceAll('%image_content_based_tag%', contentTag).replaceAll('%image_safe_slug%', slug(name)).replaceAll('%image_slug%', slug(name)).replaceAll('%image%', name);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new StapelkitError('BAD_FLAG', `--add-custom-tag ${t}: "${tag}" is not a valid docker tag`);
      await docker.call(`/images/${encodeURIComponent(img.last.imageName)}/tag?repo=${encodeURIComponent(storage.repo)}&tag=${encodeURIComponent(tag)}`, { method: 'POST' });
      out.push(`image ${name || '~'}: tagged ${storage.repo}:${tag}`);
    }
  }
  return out;
}

export async function runBuild(flags: BuildFlags, io: BuildIO): Promise<BuildSummary> {
  const env = io.env ?? process.env;
  const note = (line: string) => io.err.write(`${line}\n`);
  const project = loadProject(projectLoadOptions(flags));
  const model = project.model;
  for (const w of model.warnings) note(`warning: ${w.pos ? `${w.pos.file}:${w.pos.line}:${w.pos.column}: ` : ''}${w.message}`);
  const images = selectImages(model, flags.images ?? []);

  const client = await connectWithFlags(flags, { env, say: note });
  const addr = client.address;
  const docker = addr.kind === 'dockerd' && addr.net === 'unix' ? new DockerApi(addr.path) : undefined;
  const git = new CliGitRepo(project.repoRoot);
  const progress = progressFromFlags(flags, io.err);
  let session: Session | undefined;
  let gateway: Promise<Gateway> | undefined;
  let ctxRef: StapelBuildContext | undefined;
  try {
    await ensureLocalBases(model, images, docker, env);
    const ctx = new StapelBuildContext({ model, project, git, flags, env, dryRun: !!flags.dryRun });
    ctxRef = ctx;
    if (!flags.dryRun) ctx.checkSecrets(images);
    session = new Session({
      name: `stapelkit:${model.project}`,
      syncedDirs: { context: { dir: project.projectDir } },
      secrets: ctx.secrets() as SecretsProvider,
      ssh: [...ctx.sshAgents(), ...dockerfileSshAgents(images, env).filter((a) => !ctx.sshAgents().some((b) => b.id === a.id))],
    });
    ctx.attachSession(session);
    const storage: StagesStorage = openStagesStorage({ client, repo: flags.repo, project: model.project, env, session, progress });
    if (!storage.persistent) note(`stapelkit: ${client.address.text} has no image store and no --repo was given: stages are not stored, BuildKit's cache alone decides what is rebuilt`);
    const openGw = () =>
      (gateway ??= (async () => {
        const caps = await client.llbCaps();
        ctx.setCaps(caps.llb);
        return openGateway(client, { session, progress });
      })());
    ctx.setGateway(openGw);
    const daemonDefault = formatPlatform(normalizePlatform(parsePlatform(process.arch === 'arm64' ? 'linux/arm64' : 'linux/amd64')));
    const platforms = cliPlatforms(flags, env);
    const started = Date.now();
    const result = await runDriver({
      gateway: openGw,
      storage,
      images,
      platforms: (img) => imagePlatforms(model, img, platforms, daemonDefault),
      parallel: parallelLimit(flags),
      explain: !!flags.explain,
      dryRun: !!flags.dryRun,
      marshal: (state, platform) => ctx.marshal(state, platform),
      hooks: {
        conveyor: (img, platform, built) => (img.kind === 'dockerfile' ? dockerfileConveyor(ctx, img, platform, built, { dev: !!flags.dev, loose: !!flags.looseGiterminism }) : stapelConveyor(ctx, img, platform, built)),
        git: ctx.selectionGit(),
        stageLine: (o) => {
          io.out.write(formatStageLine(o, o.platform !== daemonDefault || platforms.length > 1) + '\n');
          for (const l of formatExplain(o)) io.out.write(l + '\n');
        },
      },
    }).catch((e) => {
      throw userCommandError(e);
    });
    const stages = result.images.flatMap((i) => i.stages);
    if (!flags.dryRun) {
      for (const img of result.images) {
        if (img.image.final) io.out.write(`image ${img.image.name || '~'}${platforms.length > 1 ? ` [${img.platform}]` : ''}: ${img.last.imageName || '(in BuildKit cache only)'}\n`);
      }
      if (flags.addCustomTag?.length) {
        for (const line of await addCustomTags(storage, result.images, flags.addCustomTag, docker)) io.out.write(line + '\n');
      }
      if (flags.saveBuildReport) {
        const p = path.resolve(project.projectDir, flags.buildReportPath ?? '.werf-build-report.json');
        fs.writeFileSync(p, formatReport(buildReport(result.images, storage, Date.now() - started, model), p));
        note(`stapelkit: build report written to ${p}`);
      }
    }
    return { images: result.images, stages };
  } finally {
    ctxRef?.close();
    if (gateway) await (await gateway.catch(() => undefined))?.finish().catch(() => undefined);
    await session?.close().catch(() => undefined);
    git.close();
    await client.close();
  }
}

export type { BuildkitClient };
