/**
 * `make frontend-image`: the frontend image built offline, without any registry or base image —
 * this machine's own node binary and the shared libraries ldd names, and under /stapelkit:
 * bin/stapelkit-frontend (the entry point), the one-file bundle dist/frontend.js (`make build`,
 * scripts/bundle.ts; npm packages included, so no node_modules), its V8 code cache
 * dist/frontend.cache and proto/ (parsed at run time), as one layer in a docker-load tarball,
 * loaded into the daemon at DOCKER_HOST (else Stapelkit's embedded dockerd). The image reference
 * is the last line of stdout. frontend-image/Dockerfile builds the same layout for the world.
 *
 * The code cache is written here, at image build time, by the node binary the image gets (this
 * one, run with no flags as the entry point is), and checked to be accepted: the frontend never
 * writes one at run time. It is kept in dist/.v8-cache/ per bundle content and node version, so
 * an unchanged bundle gives the same layer (V8's cache bytes differ from one run to the next).
 *
 *   node --import tsx scripts/frontend-image.ts [--tag REPO:TAG] [--tarball FILE]
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { imageTarball } from '../src/daemon/base-images';
import { DockerApi } from '../src/daemon/docker-api';
import { ensureEmbeddedDockerd } from '../src/daemon/dockerd';
import { writeTar, type TarEntry } from '../src/buildkit/tar';
import { parseDockerHost } from '../src/buildkit/transport';
import { StapelkitError } from '../src/errors';
import { CODE_CACHE_DIR, FRONTEND_BUNDLE_NAME } from './bundle';

const ROOT = path.resolve(__dirname, '..');
/** Where the project lives in the image. */
export const APP_DIR = 'stapelkit';
export const FRONTEND_REPO = 'stapelkit/frontend';

/** Labels BuildKit reads from a frontend image (docs §6.2). */
export const FRONTEND_LABELS: Record<string, string> = {
  // The frontend never needs the network: everything comes over the bridge.
  'moby.buildkit.frontend.network.none': 'true',
  // We read `context`/`dockerfile` frontend inputs when a caller sends them (main.ts).
  'moby.buildkit.frontend.caps': 'moby.buildkit.frontend.inputs',
};

/** The shared libraries `ldd` lists for `binary` (absolute paths, the loader included). */
export function sharedLibs(binary: string): string[] {
  const r = spawnSync('ldd', [binary], { encoding: 'utf8' });
  if (r.status !== 0) throw new StapelkitError('FRONTEND_IMAGE', `ldd ${binary} failed: ${r.stderr.trim()}`);
  const libs = new Set<string>();
  for (const line of r.stdout.split('\n')) {
    const m = /=>\s+(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line);
    if (m) libs.add(m[1]);
  }
  return [...libs].sort();
}

/** Files under `abs` as tar entries at `rel`. */
function treeEntries(abs: string, rel: string, out: TarEntry[]): void {
  const st = fs.lstatSync(abs);
  if (st.isSymbolicLink()) {
    out.push({ type: 'symlink', path: rel, target: fs.readlinkSync(abs), mtime: 0 });
  } else if (st.isDirectory()) {
    out.push({ type: 'dir', path: rel, mode: 0o755, mtime: 0 });
    for (const name of fs.readdirSync(abs).sort()) treeEntries(path.join(abs, name), `${rel}/${name}`, out);
  } else if (st.isFile()) {
    out.push({ type: 'file', path: rel, data: fs.readFileSync(abs), mode: st.mode & 0o111 ? 0o755 : 0o644, mtime: 0 });
  }
}

export interface FrontendLayout {
  entries: TarEntry[];
  entrypoint: string[];
  env: string[];
}

/** The entry point, relative to the app dir (bin/stapelkit-frontend in the repo). */
export const FRONTEND_ENTRY = 'bin/stapelkit-frontend';

/**
 * The V8 code cache of the bundle for `nodeBinary`: dist/.v8-cache/frontend.<hash>.<node version>.bin,
 * written by a warm-up run (`stapelkit-frontend --write-code-cache`) when missing, then checked by a
 * second process (a cache the node rejects would only be dead weight in the image).
 */
export function frontendCodeCache(root: string, nodeBinary: string): string {
  const bundle = path.join(root, 'dist', FRONTEND_BUNDLE_NAME);
  const entry = path.join(root, FRONTEND_ENTRY);
  // The entry point too: how it compiles the bundle is part of what the cache must match.
  const hash = crypto.createHash('sha256').update(fs.readFileSync(bundle)).update(fs.readFileSync(entry)).digest('hex').slice(0, 16);
  const ver = spawnSync(nodeBinary, ['--version'], { encoding: 'utf8' }).stdout.trim();
  const file = path.join(root, 'dist', CODE_CACHE_DIR, `frontend.${hash}.${ver}.bin`);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  // As the image runs it: no NODE_OPTIONS, no flags (V8 rejects a cache written under other flags).
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production' };
  const tmp = `${file}.${process.pid}.tmp`;
  const w = spawnSync(nodeBinary, [entry, '--write-code-cache', tmp], { env, encoding: 'utf8' });
  if (w.status !== 0) throw new StapelkitError('FRONTEND_IMAGE', `writing the frontend's code cache failed: ${(w.stderr || w.stdout).trim().split('\n').slice(-5).join('\n')}`);
  const c = spawnSync(nodeBinary, [entry, '--check-code-cache', tmp], { env, encoding: 'utf8' });
  if (c.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new StapelkitError('FRONTEND_IMAGE', `${nodeBinary} does not accept the code cache it just wrote: ${(c.stdout + c.stderr).trim()}`);
  }
  fs.renameSync(tmp, file);
  return file;
}

/** The image's files: node + libs, /stapelkit/{package.json, bin/stapelkit-frontend, dist/frontend.js + .cache, proto}, /tmp. */
export function frontendLayout(root = ROOT, nodeBinary = process.execPath): FrontendLayout {
  const bundle = path.join(root, 'dist', FRONTEND_BUNDLE_NAME);
  if (!fs.existsSync(bundle)) throw new StapelkitError('FRONTEND_IMAGE', `${path.relative(root, bundle)} is missing`, { hint: 'run `make build` (tsc + scripts/bundle.ts) first' });
  const entries: TarEntry[] = [];
  const dirs = new Set<string>();
  const addDirs = (p: string) => {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) {
        dirs.add(d);
        entries.push({ type: 'dir', path: d, mode: d === 'tmp' ? 0o1777 : 0o755, mtime: 0 });
      }
    }
  };
  const addFile = (hostPath: string, imagePath: string, mode = 0o755) => {
    addDirs(imagePath);
    entries.push({ type: 'file', path: imagePath, data: fs.readFileSync(fs.realpathSync(hostPath)), mode, mtime: 0 });
  };
  addDirs('tmp/x');
  addFile(nodeBinary, 'usr/local/bin/node');
  for (const lib of sharedLibs(nodeBinary)) addFile(lib, lib.replace(/^\/+/, ''));
  // nss/passwd are not needed: the frontend resolves no users or hosts.
  // package.json: its "type" makes the (extensionless) entry point and the bundle CommonJS.
  addFile(path.join(root, 'package.json'), `${APP_DIR}/package.json`, 0o644);
  addFile(path.join(root, FRONTEND_ENTRY), `${APP_DIR}/${FRONTEND_ENTRY}`);
  addFile(bundle, `${APP_DIR}/dist/${FRONTEND_BUNDLE_NAME}`, 0o644);
  addFile(frontendCodeCache(root, nodeBinary), `${APP_DIR}/dist/frontend.cache`, 0o644);
  const sub: TarEntry[] = [];
  treeEntries(path.join(root, 'proto'), `${APP_DIR}/proto`, sub);
  for (const e of sub) {
    if (e.type === 'dir') {
      if (dirs.has(e.path)) continue;
      dirs.add(e.path);
    }
    entries.push(e);
  }
  return {
    entries,
    entrypoint: ['/usr/local/bin/node', `/${APP_DIR}/${FRONTEND_ENTRY}`],
    env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
  };
}

export interface BuiltFrontendImage {
  /** `stapelkit/frontend:<content hash>` */
  ref: string;
  layerBytes: number;
  tarball: Buffer;
}

/** The docker-load tarball of the frontend image; the tag is derived from the layer content. */
export function frontendTarball(opts: { root?: string; tag?: string } = {}): BuiltFrontendImage {
  const layout = frontendLayout(opts.root);
  const layer = writeTar(layout.entries);
  const hash = crypto.createHash('sha256').update(layer).digest('hex').slice(0, 12);
  const ref = opts.tag ?? `${FRONTEND_REPO}:${hash}`;
  const arch = process.arch === 'x64' ? 'amd64' : process.arch === 'arm64' ? 'arm64' : process.arch;
  const { tarball } = imageTarball({
    tag: ref,
    arch,
    layer,
    env: layout.env,
    entrypoint: layout.entrypoint,
    workingDir: '/',
    labels: FRONTEND_LABELS,
    createdBy: 'stapelkit: frontend image from the local node binary and the frontend bundle',
  });
  return { ref, layerBytes: layer.length, tarball };
}

/** The Docker API of DOCKER_HOST (unix sockets only), else of the embedded dockerd. */
export async function targetDocker(env: NodeJS.ProcessEnv = process.env): Promise<DockerApi> {
  if (env.DOCKER_HOST) {
    const a = parseDockerHost(env.DOCKER_HOST);
    if (a.net !== 'unix') throw new StapelkitError('FRONTEND_IMAGE', `DOCKER_HOST ${env.DOCKER_HOST}: only unix sockets are supported for loading the image`);
    return new DockerApi(a.path);
  }
  return (await ensureEmbeddedDockerd()).docker;
}

/** Builds the tarball and loads it; returns the image reference. */
export async function loadFrontendImage(docker: DockerApi, opts: { root?: string; tag?: string } = {}): Promise<BuiltFrontendImage> {
  const built = frontendTarball(opts);
  if (!(await docker.inspectImage(built.ref))) await docker.loadImage(built.tarball);
  if (!(await docker.inspectImage(built.ref))) throw new StapelkitError('FRONTEND_IMAGE', `image ${built.ref} is missing right after loading it`);
  return built;
}

async function cli(argv: string[]): Promise<void> {
  let tag: string | undefined;
  let tarballOut: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--tag') tag = argv[++i];
    else if (argv[i] === '--tarball') tarballOut = argv[++i];
    else throw new StapelkitError('USAGE', `unknown argument ${argv[i]} (use --tag REPO:TAG, --tarball FILE)`);
  }
  const t0 = Date.now();
  if (tarballOut) {
    const built = frontendTarball({ tag });
    fs.writeFileSync(tarballOut, built.tarball);
    process.stderr.write(`wrote ${tarballOut} (${(built.tarball.length / 1e6).toFixed(1)} MB)\n`);
    process.stdout.write(`${built.ref}\n`);
    return;
  }
  const docker = await targetDocker();
  const built = await loadFrontendImage(docker, { tag });
  process.stderr.write(`frontend image: layer ${(built.layerBytes / 1e6).toFixed(1)} MB, loaded into ${docker.socketPath} in ${Date.now() - t0} ms\n`);
  process.stdout.write(`${built.ref}\n`);
}

if (require.main === module) {
  cli(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`make frontend-image: ${e instanceof StapelkitError ? e.format() : (e as Error).stack}\n`);
    process.exit(1);
  });
}
