/**
 * `stapelkit build` / `stapelkit stages`: the I/O shell around the driver. The project, context and
 * session come from setup.ts (shared with `stapelkit compile`); here: the daemon, the stages storage
 * and — lazily — the Control-API gateway, the driver run, the build report and the custom tags.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { connectWithFlags, progressFromFlags, type DaemonFlags } from '../daemon/cli-options';
import { openGateway } from '../buildkit/gateway-client';
import type { BuildkitClient } from '../buildkit/client';
import { dockerApiFor } from '../daemon/docker-api';
import type { ProjectFlags } from '../cli/commands/project-options';
import type { PublishedList, StagesStorage } from '../storage/types';
import { runDriver, type ImageOutcome, type StageOutcome } from './driver';
import type { Gateway } from './gateway';
import { formatExplain, formatStageLine } from './lines';
import { userCommandError } from './stage-error';
import { buildReport } from './report-build';
import { formatReport } from './report';
import { openStagesStorage } from '../storage';
import { ensureLocalBases, openProjectSetup } from './setup';
import { startBuild, type EarlyStart } from './early-start';

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

/** werf's slug: lowercase, runs of other characters → `-`, trimmed. */
function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '');
}

/**
 * Final images built for several platforms get a manifest list when the stages storage can hold one
 * (a registry, as werf); in the daemon's image store each platform stays its own image.
 */
async function publishManifestLists(storage: StagesStorage, images: ImageOutcome[]): Promise<Map<string, PublishedList>> {
  const out = new Map<string, PublishedList>();
  if (!storage.publishManifestList) return out;
  const byName = new Map<string, ImageOutcome[]>();
  for (const i of images) if (i.image.final && i.last.imageName) byName.set(i.image.name, [...(byName.get(i.image.name) ?? []), i]);
  for (const [name, outs] of byName) {
    if (outs.length < 2) continue;
    out.set(name, await storage.publishManifestList(outs.map((o) => ({ platform: o.platform, stage: o.last }))));
  }
  return out;
}

/**
 * `--add-custom-tag`: tags every final image in the stages storage's repository (werf's template
 * variables) — in the daemon's image store, or in the registry (the manifest list of a
 * multi-platform image, which the daemon's store cannot hold: there it is refused).
 */
async function addCustomTags(storage: StagesStorage, images: ImageOutcome[], templates: string[], lists: ReadonlyMap<string, PublishedList>): Promise<string[]> {
  const finals = images.filter((i) => i.image.final);
  const names = [...new Set(finals.map((i) => i.image.name))];
  const out: string[] = [];
  for (const t of templates) {
    if (names.length > 1 && !t.includes('%image')) throw new StapelkitError('BAD_FLAG', `--add-custom-tag ${t}: with several final images the tag must contain %image%, %image_slug% or %image_safe_slug%`);
  }
  if (!storage.persistent || !storage.addTag) throw new StapelkitError('NOT_SUPPORTED', '--add-custom-tag needs a stages storage (the daemon image store or --repo)');
  for (const name of names) {
    const outs = finals.filter((i) => i.image.name === name);
    const list = lists.get(name);
    if (outs.length > 1 && !list) throw new StapelkitError('NOT_SUPPORTED', `--add-custom-tag: image ${name || '~'} is built for ${outs.length} platforms; one tag for all of them needs a manifest list, which only a registry --repo holds`);
    const last = outs[0].last;
    const contentTag = last.labels['werf-stage-content-digest'] ?? last.digest;
    for (const t of templates) {
      const tag = t.replaceAll('%image_content_based_tag%', contentTag).replaceAll('%image_safe_slug%', slug(name)).replaceAll('%image_slug%', slug(name)).replaceAll('%image%', name);
      if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) throw new StapelkitError('BAD_FLAG', `--add-custom-tag ${t}: "${tag}" is not a valid docker tag`);
      out.push(`image ${name || '~'}: tagged ${await storage.addTag(list ? list.imageName : last.imageName, tag)}`);
    }
  }
  return out;
}

/** `early`: what the build command started before this module loaded (startBuild). */
export async function runBuild(flags: BuildFlags, io: BuildIO, early?: EarlyStart): Promise<BuildSummary> {
  const { git, daemon: dialing, stages: prelisted } = early ?? startBuild(flags, io.env ?? process.env, (line) => io.err.write(`${line}\n`));
  const setup = await git
    .then((reader) => openProjectSetup(flags, io, { dryRun: !!flags.dryRun, git: reader }))
    .catch(async (e: unknown) => {
      await (await dialing.catch(() => undefined))?.close();
      throw e;
    });
  const { model, project, images, ctx, env, note, platforms, daemonDefault } = setup;
  const session = setup.session();
  let client: BuildkitClient | undefined;
  let gateway: Promise<Gateway> | undefined;
  try {
    client = (await dialing) ?? (await connectWithFlags(flags, { env, say: note }));
    const c = client;
    const addr = c.address;
    const docker = dockerApiFor(addr);
    const progress = progressFromFlags(flags, io.err);
    const storage: StagesStorage = openStagesStorage({ client: c, repo: flags.repo, project: model.project, env, session, progress, prelisted });
    // The stages listing (one round trip) overlaps the base-image checks; its error, if any, is the driver's.
    const stored = storage.list();
    stored.catch(() => undefined);
    // Stapelkit's own local bases are needed only by a stage that builds, and every build opens
    // the gateway first: the check runs beside the stage selection, and the gateway waits for it.
    const bases = ensureLocalBases(images, docker, env, setup.project.projectDir);
    bases.catch(() => undefined);
    if (!flags.dryRun) ctx.checkSecrets(images);
    if (!storage.persistent) note(`stapelkit: ${c.address.text} has no image store and no --repo was given: stages are not stored, BuildKit's cache alone decides what is rebuilt`);
    const openGw = () =>
      (gateway ??= (async () => {
        await bases;
        const gw = await openGateway(c, { session, progress });
        ctx.setCaps((await c.adoptCaps(gw)).llb);
        return gw;
      })());
    ctx.setGateway(openGw);
    const started = Date.now();
    const result = await runDriver(
      setup.driverOptions({
        gateway: openGw,
        storage,
        stored,
        explain: !!flags.explain,
        stageLine: (o) => {
          io.out.write(formatStageLine(o, o.platform !== daemonDefault || platforms.length > 1) + '\n');
          for (const l of formatExplain(o)) io.out.write(l + '\n');
        },
      }),
    ).catch((e) => {
      throw userCommandError(e);
    });
    const stages = result.images.flatMap((i) => i.stages);
    if (!flags.dryRun) {
      for (const img of result.images) {
        if (img.image.final) io.out.write(`image ${img.image.name || '~'}${platforms.length > 1 ? ` [${img.platform}]` : ''}: ${img.last.imageName || '(in BuildKit cache only)'}\n`);
      }
      const lists = await publishManifestLists(storage, result.images);
      for (const [name, l] of lists) io.out.write(`image ${name || '~'}: ${l.imageName} (manifest list ${l.digest.slice(0, 19)}…)\n`);
      if (flags.addCustomTag?.length) {
        for (const line of await addCustomTags(storage, result.images, flags.addCustomTag, lists)) io.out.write(line + '\n');
      }
      if (flags.saveBuildReport) {
        const p = path.resolve(project.projectDir, flags.buildReportPath ?? '.werf-build-report.json');
        fs.writeFileSync(p, formatReport(buildReport(result.images, storage, Date.now() - started, model, lists), p));
        note(`stapelkit: build report written to ${p}`);
      }
    }
    return { images: result.images, stages };
  } finally {
    if (gateway) await (await gateway.catch(() => undefined))?.finish().catch(() => undefined);
    await setup.close();
    await client?.close();
  }
}

export type { BuildkitClient };
