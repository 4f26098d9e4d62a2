/**
 * `stapelkit compile`: the I/O shell. The same setup and driver as `stapelkit build`, with no stages
 * storage (each stage's graph is chained onto the previous one) and a CompileGateway; the selected
 * images' final graphs become one Definition on stdout. Git content goes to --out-dir, and stderr
 * gets the `buildctl build` flags that fill the graph's locals, secrets and ssh.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { BUILDKIT_V08_LLB_CAPS } from '../llb';
import { connectWithFlags, progressFromFlags, type DaemonFlags } from '../daemon/cli-options';
import type { BuildkitClient } from '../buildkit/client';
import { dockerApiFor } from '../daemon/docker-api';
import { NoStagesStorage } from '../storage/none';
import { COMMIT_ENV_SECRET_ID } from '../stages';
import { runDriver, type ImageOutcome } from './driver';
import { CompileGateway } from './compile-gateway';
import { buildctlFlags, formatBuildctlCommand, formatCompileJson, graphNeeds, joinResults, resultDir, type GraphNeeds } from './compile';
import { ensureLocalBases, openProjectSetup, type SetupFlags } from './setup';
import { matchImages } from './plan';
import type { Definition } from '../llb';
import { normalizeTree, type TreeSource, type TreeSourceEntry } from '../session/tree-source';

export interface CompileFlags extends DaemonFlags, SetupFlags {
  format?: string;
  outDir?: string;
  /** 'v0.8' (default: what every BuildKit since dockerd 20.10 has) or 'daemon' (ask the daemon). */
  llbCaps?: string;
}

export interface CompileIO {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export interface CompileResult {
  definition: Definition;
  images: ImageOutcome[];
  needs: GraphNeeds;
  /** `buildctl build` flags, each [flag, value]. */
  flags: string[][];
  /** local name → directory. */
  locals: Record<string, string>;
  outDir: string;
  /** Why a daemon was dialled (empty: compiled offline). */
  daemonNeeds: string[];
}

function defaultOutDir(env: NodeJS.ProcessEnv, project: string): string {
  return path.join(env.XDG_CACHE_HOME ?? path.join(env.HOME ?? os.homedir(), '.cache'), 'stapelkit', 'compile', project);
}

/**
 * A tree source written to `dest` once (a dir there is complete: written under a temp name, then
 * renamed), with the source's modes and its fixed mtime, so BuildKit's FileSync checksum of the
 * dir equals that of the tree `stapelkit build` serves.
 */
export async function writeTree(src: TreeSource, dest: string): Promise<string> {
  if (fs.existsSync(dest)) return dest;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = fs.mkdtempSync(`${dest}.tmp-`);
  const entries = normalizeTree([...(await src.entries())], src.dirMode ?? 0o755);
  const when = (e: TreeSourceEntry) => new Date(Number((e.mtimeNs ?? src.mtimeNs ?? 0n) / 1_000_000n));
  for (const e of entries) {
    const abs = path.join(tmp, e.path);
    if (e.type === 'dir') fs.mkdirSync(abs, { recursive: true, mode: e.mode });
    else if (e.type === 'symlink') fs.symlinkSync(e.linkname ?? '', abs);
    else await fs.promises.writeFile(abs, await src.read(e), { mode: e.mode });
    if (e.type !== 'symlink') fs.chmodSync(abs, e.mode);
  }
  // Times last, deepest first: writing into a dir changes its mtime.
  for (const e of [...entries].reverse()) if (e.type !== 'symlink') fs.utimesSync(path.join(tmp, e.path), when(e), when(e));
  fs.chmodSync(tmp, src.dirMode ?? 0o755);
  fs.utimesSync(tmp, new Date(Number((src.mtimeNs ?? 0n) / 1_000_000n)), new Date(Number((src.mtimeNs ?? 0n) / 1_000_000n)));
  try {
    fs.renameSync(tmp, dest);
  } catch (e) {
    // Another compile wrote the same content first.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(dest)) throw e;
  }
  return dest;
}

export async function runCompile(flags: CompileFlags, io: CompileIO): Promise<CompileResult> {
  const format = flags.format ?? 'pb';
  if (format !== 'pb' && format !== 'json') throw new StapelkitError('BAD_FLAG', `--format must be pb or json, got "${format}"`);
  const capsMode = flags.llbCaps ?? 'v0.8';
  if (capsMode !== 'v0.8' && capsMode !== 'daemon') throw new StapelkitError('BAD_FLAG', `--llb-caps must be v0.8 or daemon, got "${capsMode}"`);
  const env = io.env ?? process.env;
  // The default out dir is named after the project, known once it is loaded.
  const outDirOf = (projectName: string) => (flags.outDir ? path.resolve(flags.outDir) : defaultOutDir(env, projectName));
  const setup = openProjectSetup(flags, io, { localUniqueId: 'stapelkit-compile' });
  const { model, ctx, note, project } = setup;
  const outDir = outDirOf(model.project);
  let client: BuildkitClient | undefined;
  const open = async () => {
    client = await connectWithFlags(flags, { env, say: note });
    const addr = client.address;
    await ensureLocalBases(setup.images, dockerApiFor(addr), env, project.projectDir);
    const { openGateway } = require('../buildkit/gateway-client') as typeof import('../buildkit/gateway-client');
    return openGateway(client, { session: setup.session(), progress: progressFromFlags({ ...flags, progress: flags.progress ?? 'quiet' }, io.err) });
  };
  let caps = new Set(BUILDKIT_V08_LLB_CAPS);
  let gw: CompileGateway | undefined;
  try {
    if (capsMode === 'daemon') {
      client = await connectWithFlags(flags, { env, say: note });
      caps = (await client.llbCaps()).llb;
    }
    ctx.setCaps(caps);
    const gateway = new CompileGateway(caps, open);
    gw = gateway;
    ctx.setGateway(async () => gateway);
    const result = await runDriver(setup.driverOptions({ gateway: async () => gateway, storage: new NoStagesStorage() }));
    // Named images: those; none named: every final image (the others are inside their graphs).
    const named = flags.images?.length ? matchImages(model, flags.images) : undefined;
    const chosen = result.images.filter((i) => (named ? named.has(i.image.name) : i.image.final));
    // In the joined graph's order (name, platform), so messages and image-config files follow it.
    const picked = (chosen.length ? chosen : result.images).slice().sort((a, b) => (a.image.name === b.image.name ? (a.platform < b.platform ? -1 : 1) : a.image.name < b.image.name ? -1 : 1));
    const root = joinResults(picked.map((i) => ({ image: i.image.name, platform: i.platform, state: i.last.state })));
    const platform = picked[0]?.platform ?? setup.daemonDefault;
    const definition = ctx.marshal(root, platform);
    const needs = graphNeeds(definition);

    const locals: Record<string, string> = {};
    for (const n of needs.locals) {
      if (n === 'context') {
        locals[n] = project.projectDir;
        continue;
      }
      // Git content is served from git objects by build; buildctl needs it on disk.
      const spec = await ctx.sourceSpec(n);
      locals[n] = spec.source ? await writeTree(spec.source, path.join(outDir, 'git', spec.source.id.slice(0, 32))) : spec.dir;
    }
    const secretDir = path.join(outDir, 'secrets');
    const specs = ctx.secretSpecs();
    const secretProvider = ctx.secrets();
    const secretFlag = async (id: string): Promise<string | undefined> => {
      const s = specs.get(id);
      if (s?.env !== undefined) return `id=${id},env=${s.env}`;
      if (s?.src !== undefined) return `id=${id},src=${path.resolve(project.projectDir, s.src)}`;
      // werf.yaml `value:` secrets and the commit env (HEAD's hash and time) have no file of their own: one is written, owner-only.
      if (s?.value !== undefined || id === COMMIT_ENV_SECRET_ID) {
        const v = await secretProvider.get(id);
        if (v === undefined) return undefined;
        fs.mkdirSync(secretDir, { recursive: true, mode: 0o700 });
        const file = path.join(secretDir, id);
        fs.writeFileSync(file, v, { mode: 0o600 });
        return `id=${id},src=${file}`;
      }
      return undefined;
    };
    const secretValues = new Map<string, string | undefined>();
    for (const id of needs.secrets) secretValues.set(id, await secretFlag(id));
    const agents = new Map(ctx.sshAgents().map((a) => [a.id, a.socket]));
    const built = buildctlFlags({
      needs,
      localDir: (n) => locals[n],
      secret: (id) => secretValues.get(id),
      ssh: (id) => (flags.ssh?.some((s) => s.startsWith(`${id}=`)) ? `${id}=${agents.get(id)}` : id),
    });

    // The Definition carries no image config: the configs go next to the content, keyed by result dir.
    const multiPlatform = new Set(picked.map((i) => i.platform)).size > 1;
    const cfgFile = path.join(outDir, 'image-configs.json');
    fs.mkdirSync(outDir, { recursive: true });
    fs.writeFileSync(cfgFile, JSON.stringify(Object.fromEntries(picked.map((i) => [resultDir({ image: i.image.name, platform: i.platform }, multiPlatform), i.last.imageConfig])), null, 2) + '\n');

    io.out.write(format === 'json' ? formatCompileJson(definition) : definition.toBytes());
    note(`stapelkit: ${picked.length} image(s), ${definition.ops.length} ops${gateway.needs.length ? `; the daemon was asked for ${gateway.needs.join('; ')}` : '; no daemon was needed'}`);
    if (picked.length > 1) note(`stapelkit: the result holds each image in its own directory (${picked.map((i) => resultDir({ image: i.image.name, platform: i.platform }, multiPlatform)).join(', ')})`);
    for (const id of built.unknownSecrets) note(`warning: the graph mounts secret "${id}", which neither werf.yaml nor --secret defines: give buildctl --secret id=${id},src=FILE`);
    note(`stapelkit: image configs in ${cfgFile}; solve with:\n${formatBuildctlCommand(built.flags)}`);
    return { definition, images: result.images, needs, flags: built.flags, locals, outDir, daemonNeeds: [...gateway.needs] };
  } finally {
    await gw?.finish().catch(() => undefined);
    await setup.close();
    await client?.close();
  }
}
