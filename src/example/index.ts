/**
 * `stapelkit example`: build a project directory into a small image on a BuildKit daemon and run it
 * once (dockerd only). A stand-in main job until the werf.yaml compiler takes over; see graph.ts for
 * the image itself.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import { marshal } from '../llb';
import { Session } from '../session';
import { busyboxTag, ensureBusyboxImage, type BusyboxArch } from '../daemon/base-images';
import { connectWithFlags, progressFromFlags, type DaemonFlags } from '../daemon/cli-options';
import { DockerApi } from '../daemon/docker-api';
import { userStateDir } from '../daemon/dockerd';
import { readDockerignore } from './dockerignore';
import { CONTEXT_NAME, exampleGraph, type BaseConfig } from './graph';

export { exampleGraph, STAMP_SCRIPT, CACHE_ID, CACHE_TARGET, EXAMPLE_LABEL, type ExampleGraph, type ExampleGraphOptions } from './graph';
export { parseDockerignore, readDockerignore } from './dockerignore';

export const DEFAULT_EXAMPLE_TAG = 'stapelkit-example:latest';

export interface ExampleOptions extends DaemonFlags {
  dir: string;
  tag?: string;
  /** Run the image once after building it (dockerd on a unix socket only); default true. */
  run?: boolean;
}

export interface ExampleIO {
  /** Results: the image line and the container's output. */
  out: NodeJS.WritableStream;
  /** Progress and notes. */
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env?: NodeJS.ProcessEnv;
}

export interface ExampleResult {
  tag: string;
  imageId?: string;
  buildMs: number;
  /** Output of the one run of the image, when it ran. */
  run?: { exitCode: number; stdout: string; stderr: string };
}

function hostArch(): BusyboxArch {
  if (process.arch === 'x64') return 'amd64';
  if (process.arch === 'arm64') return 'arm64';
  throw new StapelkitError('UNSUPPORTED_HOST', `the example has no base image for a ${process.arch} host (only amd64 and arm64)`);
}

function checkDir(dir: string): string {
  const abs = path.resolve(dir);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new StapelkitError('EXAMPLE_DIR', `project directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) throw new StapelkitError('EXAMPLE_DIR', `${dir} is not a directory`);
  return abs;
}

export async function runExample(opts: ExampleOptions, io: ExampleIO): Promise<ExampleResult> {
  const dir = checkDir(opts.dir);
  const excludes = readDockerignore(dir);
  const tag = opts.tag ?? DEFAULT_EXAMPLE_TAG;
  const env = io.env ?? process.env;
  const note = (line: string) => io.err.write(`${line}\n`);
  const arch = hostArch();

  const client = await connectWithFlags(opts, { env, say: note });
  const session = new Session({ name: `stapelkit:example:${path.basename(dir)}`, syncedDirs: { [CONTEXT_NAME]: { dir, excludes } }, ssh: [] });
  try {
    const addr = client.address;
    // The Docker API is what loads the locally made base image and runs the result.
    const docker = addr.kind === 'dockerd' && addr.net === 'unix' ? new DockerApi(addr.path) : undefined;
    const baseImage = busyboxTag(arch);
    let baseConfig: BaseConfig = {};
    if (docker) {
      await ensureBusyboxImage(docker, arch, path.join(userStateDir(env), 'cache'));
      const inspect = await docker.inspectImage(baseImage);
      baseConfig = { Env: inspect?.Config?.Env, layers: inspect?.RootFS?.Layers?.length };
    } else {
      note(`stapelkit: ${addr.text} is not a local dockerd; ${baseImage} must already be available to it`);
    }
    const caps = await client.llbCaps();
    const { state, imageConfig } = exampleGraph({
      baseImage,
      baseConfig,
      arch,
      sessionId: session.id,
      excludes,
      sharedKeyHint: `example:${dir}`,
      created: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
    });
    const definition = marshal(state, { platform: `linux/${arch}`, caps: caps.llb, daemon: client.daemonKind === 'dockerd' ? 'BuildKit in dockerd' : 'buildkitd' });
    const exporter = { type: client.daemonKind === 'dockerd' ? 'moby' : 'image', attrs: { name: tag } };

    const started = Date.now();
    const res = await client.solve({ definition, session, exporter, imageConfig }, progressFromFlags(opts, io.err));
    const buildMs = Date.now() - started;
    const imageId = res.exporterResponse['containerimage.config.digest'] ?? res.exporterResponse['containerimage.digest'];
    io.out.write(`image ${tag}${imageId ? ` ${imageId}` : ''}\n`);
    note(`stapelkit: built ${tag} in ${(buildMs / 1000).toFixed(1)}s`);

    const result: ExampleResult = { tag, imageId, buildMs };
    if (docker && opts.run !== false) {
      note(`stapelkit: running ${tag} (${imageConfig.config.Cmd.join(' ')}):`);
      // No command of our own: the container runs the image's Cmd in its WorkingDir.
      const run = await docker.run(tag, [], { timeoutMs: 60_000 });
      io.out.write(run.stdout);
      if (run.stderr) io.err.write(run.stderr);
      result.run = run;
      if (run.exitCode !== 0) throw new StapelkitError('EXAMPLE_RUN', `${tag} exited with code ${run.exitCode}`);
    }
    return result;
  } finally {
    await session.close();
    await client.close();
  }
}
