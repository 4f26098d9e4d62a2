/**
 * The frontend image's entry point (`gateway.v0` with `source=<image>`, or `# syntax=<image>` at
 * the top of werf.yaml). Plumbing only: BuildKit's options → werf.yaml from the `dockerfile`
 * local → the project from the `context` local → the build → LLBBridge.Return. Any failure goes
 * back as a BuildKit error carrying the positioned message (`werf.yaml:4:3: …`).
 *
 * stdout is the gRPC connection; logs go to stderr with a timestamp (bench/frontend-startup.ts
 * reads `first-solve`).
 */
import * as path from 'node:path';
import type { Gateway, GatewayResult } from '../build/gateway';
import type { Image, Model } from '../config/model';
import { StapelkitError } from '../errors';
import { local, marshal, type Definition } from '../llb';
import { formatPlatform } from '../llb/platform';
import { parseFrontendOptions, type FrontendOptions } from './options';
import { BridgeGateway, frontendEnv, type FrontendEnv } from './stdio-gateway';

/**
 * `[stapelkit-frontend 2026-12-02T05:40:01.123Z +42ms] msg` on stderr; +ms counts from the
 * process's start (performance.now()), so the first line shows Node start-up plus module loading.
 */
export function log(msg: string): void {
  process.stderr.write(`[stapelkit-frontend ${new Date().toISOString()} +${Math.round(performance.now())}ms] ${msg}\n`);
}

/** A Gateway with the extras only the frontend side has (frontend inputs). */
export interface FrontendGateway extends Gateway {
  inputs?(): Promise<Record<string, Buffer>>;
}

/**
 * Frontend inputs arrive as marshalled bytes; the Gateway contract takes a Definition, of which
 * gateways read only toBytes().
 */
function asDefinition(d: Definition | Buffer): Definition {
  return Buffer.isBuffer(d) ? ({ toBytes: () => d } as unknown as Definition) : d;
}

/** werf.yaml (the `filename` option) from the `dockerfile` local, or from the `dockerfile` frontend input. */
async function readConfig(gw: FrontendGateway, env: FrontendEnv, opts: FrontendOptions, inputs: Record<string, Buffer>, llbCaps: Set<string>): Promise<Buffer> {
  const def: Definition | Buffer =
    inputs[opts.dockerfileKey] ??
    marshal(local(opts.dockerfileKey, { sessionId: env.sessionId || undefined, followPaths: [opts.filename], sharedKeyHint: opts.filename }), { caps: llbCaps });
  const ref = await gw.solve(asDefinition(def));
  try {
    return await gw.readFile(ref, opts.filename);
  } catch (e) {
    if ((e as StapelkitError).code !== 'FILE_NOT_FOUND') throw e;
    throw new StapelkitError('CONFIG_NOT_FOUND', `werf config not found: "${opts.filename}" is not in the build's dockerfile directory`, {
      hint: 'pass it with `docker build -f werf.yaml .` (or the `filename` frontend option)',
      cause: e,
    });
  }
}

/** The images the options ask for: `target`/`image=`, else every final image. */
export function selectImages(model: Model, names: string[]): Image[] {
  if (names.length === 0) return model.images.filter((i) => i.final);
  return names.map((n) => {
    const img = model.images.find((i) => i.name === n);
    if (!img) {
      const known = model.images.map((i) => JSON.stringify(i.name)).join(', ');
      throw new StapelkitError('FRONTEND_TARGET', `image ${JSON.stringify(n)} is not defined in werf.yaml (images: ${known})`);
    }
    return img;
  });
}

/** One frontend build on `gw`; throws what should go back as the build's error. */
export async function runFrontend(gw: FrontendGateway, env: FrontendEnv): Promise<GatewayResult> {
  const opts = parseFrontendOptions(env.opts);
  const caps = await gw.caps();
  log(`ping: ${caps.daemon}${caps.version ? ' ' + caps.version : ''}, ${caps.llb.size} LLB caps, ${caps.frontend.size} gateway caps, platforms ${caps.platforms.map(formatPlatform).join(',')}`);
  const inputs = gw.inputs ? await gw.inputs() : {};
  // Both locals are solved at once, and the config layer (template engine, YAML) loads meanwhile.
  const configP = readConfig(gw, env, opts, inputs, caps.llb);
  const contextLocal = (o: { includePatterns?: string[]; excludePatterns?: string[] } = {}) => local(opts.contextKey, { sessionId: env.sessionId || undefined, sharedKeyHint: opts.contextKey, ...o });
  const contextState = inputs[opts.contextKey] ? undefined : contextLocal();
  const contextDef: Definition | Buffer = inputs[opts.contextKey] ?? marshal(contextState!, { caps: caps.llb });
  const contextP = gw.solve(asDefinition(contextDef));
  contextP.catch(() => undefined); // a werf.yaml error below takes precedence
  configP.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
  // Loading the config layer blocks for tens of ms: first let both Solve requests out (their
  // continuations run as microtasks, node:http2 writes the frames in the immediates before ours).
  await new Promise((resolve) => setImmediate(resolve));
  const { loadFromContext } = require('./project') as typeof import('./project');
  const configText = await configP;
  const context = await contextP;
  const epoch = opts.buildArgs.SOURCE_DATE_EPOCH;
  const project = await loadFromContext(gw, context, {
    configName: path.posix.basename(opts.filename),
    configText,
    environ: opts.buildArgs,
    env: opts.env,
    dev: opts.dev,
    looseGiterminism: opts.looseGiterminism,
    sourceDateEpoch: epoch && /^\d+$/.test(epoch) ? Number(epoch) : undefined,
  });
  log(`config: ${project.model.images.length} image(s), ${project.passes} render pass(es), ${project.files.calls} context reads${project.fromDotGit ? `, commit ${project.commit.hash} from .git` : ', no .git: file contents only'}`);
  for (const w of project.model.warnings) log(`warning: ${w.pos ? `${w.pos.file}:${w.pos.line}: ` : ''}${w.message}`);
  const images = selectImages(project.model, opts.images);
  if (images.length !== 1) {
    throw new StapelkitError('FRONTEND_TARGET', `the build returns one image; werf.yaml has ${images.length} final images (${images.map((i) => JSON.stringify(i.name)).join(', ')}): choose one with --target (or the image= option)`);
  }
  const { buildTarget } = require('./build') as typeof import('./build');
  return buildTarget(gw, project, images[0], { platforms: opts.platforms, noCache: opts.noCache, labels: opts.labels, context: { ref: context, state: contextState, ...(contextState ? { local: contextLocal } : {}) }, buildArgs: opts.buildArgs, resolveMode: opts.resolveMode, ssh: opts.ssh, log });
}

/** What bin/stapelkit-frontend tells main(): how the bundle was compiled. */
export interface BootInfo {
  /** The V8 code cache baked into the image: 'accepted', 'rejected' (another node or other flags) or 'none'. */
  codeCache?: 'accepted' | 'rejected' | 'none';
}

export async function main(boot: BootInfo = {}): Promise<number> {
  const env = frontendEnv();
  log(`start (node ${process.version}, code cache ${boot.codeCache ?? 'n/a (not bundled)'}, session ${env.sessionId || 'none'}, ${Object.keys(env.opts).length} options)`);
  let cacheImports: { Type: string; Attrs?: Record<string, string> }[] = [];
  try {
    cacheImports = parseFrontendOptions(env.opts).cacheImports;
  } catch {
    /* reported by runFrontend */
  }
  const gw = BridgeGateway.fromStdio({ env, cacheImports, onFirstSolve: () => log('first-solve') });
  let result: GatewayResult | undefined;
  let error: Error | undefined;
  try {
    result = await runFrontend(gw, env);
  } catch (e) {
    error = e as Error;
    log(`error: ${e instanceof StapelkitError ? e.format() : ((e as Error).stack ?? String(e))}`);
    if ((e as StapelkitError).code === 'FRONTEND_BRIDGE') return 1;
  }
  try {
    await gw.finish(result, error);
  } catch (e) {
    log(`Return failed: ${(e as Error).message}`);
    return 1;
  }
  log(error ? 'returned the error' : 'returned the result');
  return 0;
}

/** The process: main(), then exit with its code (bin/stapelkit-frontend, or this file run directly). */
export function runAndExit(boot: BootInfo = {}): void {
  main(boot).then(
    (code) => process.exit(code),
    (e) => {
      log(`fatal: ${(e as Error).stack ?? String(e)}`);
      process.exit(1);
    },
  );
}

export { warmUp } from './warm-up';

if (require.main === module) runAndExit();
