/**
 * The frontend's build: the shared build core (src/build: runDriver + stapelConveyor), run on the
 * LLBBridge gateway with no stages storage (BuildKit's cache does the reuse), then the selected
 * image's last stage solved to a ref for LLBBridge.Return.
 *
 * What the frontend cannot give the core yet is refused up front with the werf.yaml position: git
 * mappings (the core reads them through a git repository and serves them over our own session;
 * inside BuildKit there is only the client's session with `context`/`dockerfile`) and `fromPath`
 * mounts (host paths of the client). WERF_COMMIT_* are unset: the core delivers them as a session
 * secret the docker CLI does not have (the mount is optional).
 */
import type { Gateway, GatewayRef, GatewayResult, OciImageConfig } from '../build/gateway';
import { runDriver } from '../build/driver';
import { selectImages as withDependencies } from '../build/plan';
import { StapelBuildContext, stapelConveyor } from '../build/stapel';
import { imageLabel, type Image } from '../config/model';
import { StapelkitError } from '../errors';
import type { CliGitRepo } from '../git/cli-repo';
import { Definition, type State } from '../llb';
import { formatPlatform, normalizePlatform, parsePlatform, type Platform } from '../llb/platform';
import { NoStagesStorage } from '../storage/none';
import type { ContextProject } from './project';

/** The core's build context with the frontend's commit (from the context's `.git`, or none) and no ssh. */
class FrontendStapelContext extends StapelBuildContext {
  constructor(
    project: ContextProject,
    private readonly commit: { hash: string; authorTime: number; tzOffset: string },
  ) {
    // No git repository inside BuildKit: unsupportedInFrontend() keeps every git path of the core unused.
    super({ model: project.model, project, git: undefined as unknown as CliGitRepo, flags: {}, env: {}, dryRun: false });
  }

  override head() {
    return Promise.resolve(this.commit);
  }

  override hasSsh(): boolean {
    return false;
  }
}

/** Throws, positioned, for what the frontend cannot build yet (see the file comment). */
export function unsupportedInFrontend(images: Image[]): void {
  for (const img of images) {
    if (img.kind !== 'stapel') throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: Dockerfile images are not built by the frontend yet`, { pos: img.pos });
    if (img.git.length) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: git mappings are not built by the frontend yet (they need the git repository; build with \`stapelkit build\`)`, { pos: img.git[0].pos });
    const custom = img.mounts.find((m) => m.type === 'custom_dir');
    if (custom) throw new StapelkitError('FRONTEND_UNSUPPORTED', `${imageLabel(img)}: mount fromPath ${custom.fromPath} is a host path of the client, which a frontend cannot reach`, { pos: custom.pos });
  }
}

/** The Definition with every op marked ignore-cache (the `no-cache` option): BuildKit re-runs them all. */
export function ignoringCache(def: Definition): Definition {
  const md = new Map([...def.metadata].map(([d, m]) => [d, { ...m, ignoreCache: true }]));
  return new Definition(def.ops, md, def.head);
}

export interface FrontendBuildOptions {
  /** Target platforms; empty: the image's, then build.platform, then the daemon's first. */
  platforms: Platform[];
  /**
   * `no-cache`: true = nothing from the cache; a list of image names = when the target is among them.
   * Applied to the target's whole graph (the images it is built from included).
   */
  noCache?: true | string[];
  /** `label:NAME=VALUE` options: added to the result's image config. */
  labels?: Record<string, string>;
  log(line: string): void;
}

/** Builds `target` (and the images it needs) through the core; the result for LLBBridge.Return. */
export async function buildTarget(gw: Gateway, project: ContextProject, target: Image, opts: FrontendBuildOptions): Promise<GatewayResult> {
  const model = project.model;
  const images = withDependencies(model, [target.name]);
  unsupportedInFrontend(images);
  const caps = await gw.caps();
  const daemonDefault = formatPlatform(caps.platforms[0] ?? { os: 'linux', architecture: process.arch === 'arm64' ? 'arm64' : 'amd64' });
  const platformsOf = (img: Image): string[] => {
    const pick = opts.platforms.length ? opts.platforms.map(formatPlatform) : img.platform.length ? img.platform : model.meta.build.platform.length ? model.meta.build.platform : [daemonDefault];
    return [...new Set(pick.map((p) => formatPlatform(normalizePlatform(parsePlatform(p)))))];
  };
  const commit = { hash: project.commit.hash, authorTime: Math.floor(project.commit.date.getTime() / 1000), tzOffset: '+0000' };
  const ctx = new FrontendStapelContext(project, commit);
  ctx.setCaps(caps.llb);
  const noCache = opts.noCache === true || (Array.isArray(opts.noCache) && opts.noCache.includes(target.name));
  const marshalFor = (state: State, platform: string) => (noCache ? ignoringCache(ctx.marshal(state, platform)) : ctx.marshal(state, platform));
  ctx.setGateway(async () => gw);
  try {
    const result = await runDriver({
      gateway: async () => gw,
      storage: new NoStagesStorage(),
      images,
      platforms: platformsOf,
      parallel: 4,
      marshal: marshalFor,
      hooks: {
        conveyor: (img, platform, built) => stapelConveyor(ctx, img, platform, built),
        stageLine: (o) => opts.log(`stage ${o.image || '~'}/${o.stage} [${o.platform}] ${o.digest.slice(0, 12)} ${o.how} in ${o.ms} ms`),
      },
    });
    const outs = result.images.filter((o) => o.image.name === target.name);
    const solved: { platform: string; ref: GatewayRef; config: OciImageConfig }[] = [];
    const withLabels = (c: OciImageConfig): OciImageConfig => (opts.labels && Object.keys(opts.labels).length ? { ...c, config: { ...(c.config ?? {}), Labels: { ...(c.config?.Labels ?? {}), ...opts.labels } } } : c);
    for (const o of outs) solved.push({ platform: o.platform, ref: await gw.solve(marshalFor(o.last.state, o.platform)), config: withLabels(o.last.imageConfig) });
    if (solved.length === 1) return { refs: solved[0].ref, imageConfig: solved[0].config };
    return { refs: Object.fromEntries(solved.map((s) => [s.platform, s.ref])), imageConfig: Object.fromEntries(solved.map((s) => [s.platform, s.config])) };
  } finally {
    ctx.close();
  }
}
