/**
 * Base images without any registry: a busybox rootfs made from Debian's `busybox-static`, written
 * as a docker-load tarball (manifest.json + config + one layer) and loaded through the Docker API.
 * amd64 uses the installed package; arm64 uses `busybox-static:arm64` fetched with apt-get download
 * (cached under the state dir).
 */
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StapelkitError } from '../errors';
import type { DockerApi } from './docker-api';
import { lockFile } from './dockerd';
import { writeTar, type TarEntry } from '../buildkit/tar';

export type BusyboxArch = 'amd64' | 'arm64';

/** Tag of the busybox fixture image for an architecture. */
export function busyboxTag(arch: BusyboxArch): string {
  return `stapelkit/busybox:${arch}`;
}

const sha256 = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');

/**
 * The rootfs layer: /bin/busybox, a symlink per applet (from `busybox --list-full`), /etc/passwd
 * and /etc/group with root and www-data (uid/gid 33), /tmp (1777), /root, /var/www (owned by 33).
 */
export function busyboxRootfs(busybox: Buffer, appletPaths: string[]): TarEntry[] {
  const dirs = new Set<string>(['bin', 'etc', 'tmp', 'root', 'var', 'var/www', 'usr', 'usr/bin', 'usr/sbin', 'sbin', 'home', 'dev', 'proc', 'sys']);
  const links: TarEntry[] = [];
  for (const raw of appletPaths) {
    const p = raw.trim().replace(/^\/+/, '');
    if (!p || p === 'bin/busybox') continue;
    for (let d = path.posix.dirname(p); d !== '.'; d = path.posix.dirname(d)) dirs.add(d);
    links.push({ type: 'symlink', path: p, target: '/bin/busybox' });
  }
  const entries: TarEntry[] = [...dirs].sort().map((d) =>
    d === 'tmp' ? { type: 'dir', path: d, mode: 0o1777 } : d === 'var/www' ? { type: 'dir', path: d, mode: 0o755, uid: 33, gid: 33 } : d === 'root' ? { type: 'dir', path: d, mode: 0o700 } : { type: 'dir', path: d, mode: 0o755 },
  );
  entries.push({ type: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  entries.push({ type: 'file', path: 'etc/passwd', data: Buffer.from('root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n') });
  entries.push({ type: 'file', path: 'etc/group', data: Buffer.from('root:x:0:\nwww-data:x:33:\nnogroup:x:65534:\n') });
  entries.push(...links.sort((a, b) => (a.path < b.path ? -1 : 1)));
  return entries;
}

/** A `docker save` style tarball holding one image with one layer. */
export function imageTarball(opts: {
  tag: string;
  arch: string;
  layer: Buffer;
  env?: string[];
  cmd?: string[];
  created?: string;
  /** Entrypoint (then Cmd is left out unless given), labels, working dir, the history line. */
  entrypoint?: string[];
  labels?: Record<string, string>;
  workingDir?: string;
  createdBy?: string;
}): { tarball: Buffer; configDigest: string } {
  const diffId = `sha256:${sha256(opts.layer)}`;
  const created = opts.created ?? '1970-01-01T00:00:00Z';
  const config = Buffer.from(
    JSON.stringify({
      architecture: opts.arch,
      os: 'linux',
      created,
      config: {
        Env: opts.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(opts.entrypoint ? { Entrypoint: opts.entrypoint, ...(opts.cmd ? { Cmd: opts.cmd } : {}) } : { Cmd: opts.cmd ?? ['sh'] }),
        ...(opts.workingDir ? { WorkingDir: opts.workingDir } : {}),
        ...(opts.labels ? { Labels: opts.labels } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created, created_by: opts.createdBy ?? 'stapelkit: busybox rootfs from Debian busybox-static' }],
    }),
  );
  const configHex = sha256(config);
  const layerDir = sha256(opts.layer);
  const manifest = Buffer.from(JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [opts.tag], Layers: [`${layerDir}/layer.tar`] }]));
  const tarball = writeTar([
    { type: 'file', path: `${configHex}.json`, data: config },
    { type: 'dir', path: layerDir },
    { type: 'file', path: `${layerDir}/layer.tar`, data: opts.layer },
    { type: 'file', path: 'manifest.json', data: manifest },
  ]);
  return { tarball, configDigest: `sha256:${configHex}` };
}

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: opts.cwd, env: opts.env ?? process.env, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new StapelkitError('BASE_IMAGE', `${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error ?? '')).trim().split('\n').slice(-3).join(' | ')}`);
  return r.stdout;
}

/**
 * The arm64 busybox binary: from a cached `busybox-static_*_arm64.deb` in `cacheDir`, or fetched
 * with apt-get download using a temporary extra architecture (APT::Architectures only for these two
 * apt-get calls; dpkg's own architecture list is left unchanged).
 */
async function arm64Busybox(cacheDir: string): Promise<Buffer> {
  fs.mkdirSync(cacheDir, { recursive: true });
  const find = () => fs.readdirSync(cacheDir).find((f) => /^busybox-static_.*_arm64\.deb$/.test(f));
  let deb = find();
  if (!deb) {
    // Concurrent test runs share the cache dir and apt's own lock: one downloads, the others wait.
    const release = await lockFile(path.join(cacheDir, 'busybox-arm64.lock'), 10 * 60_000, 10 * 60_000);
    try {
      deb = find();
      if (!deb) {
        const archOpts = ['-o', 'APT::Architectures::=amd64', '-o', 'APT::Architectures::=arm64'];
        const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
        const tmp = fs.mkdtempSync(path.join(cacheDir, 'dl-'));
        try {
          sh('apt-get', ['update', '-q', ...archOpts], { env });
          try {
            sh('apt-get', ['download', '-q', ...archOpts, 'busybox-static:arm64'], { cwd: tmp, env });
          } finally {
            // Drop the arm64 package lists again so later plain apt-get calls see the machine as it was.
            spawnSync('apt-get', ['update', '-q'], { env, stdio: 'ignore' });
          }
          const got = fs.readdirSync(tmp).find((f) => f.endsWith('.deb'));
          if (!got) throw new StapelkitError('BASE_IMAGE', 'apt-get download busybox-static:arm64 left no .deb');
          fs.renameSync(path.join(tmp, got), path.join(cacheDir, got)); // atomic: readers never see a partial file
          deb = got;
        } finally {
          fs.rmSync(tmp, { recursive: true, force: true });
        }
      }
    } finally {
      release();
    }
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-deb-'));
  try {
    sh('dpkg-deb', ['-x', path.join(cacheDir, deb), tmp]);
    return fs.readFileSync(path.join(tmp, 'bin', 'busybox'));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function appletList(busyboxPath: string, arch: BusyboxArch): string[] {
  // The applet set of the foreign binary: run it under qemu if needed; else fall back to the host's.
  const runner = arch === 'arm64' && process.arch !== 'arm64' ? ['/usr/bin/qemu-aarch64-static', busyboxPath] : [busyboxPath];
  const r = spawnSync(runner[0], [...runner.slice(1), '--list-full'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return r.stdout.split('\n').filter(Boolean);
  return sh('/bin/busybox', ['--list-full']).split('\n').filter(Boolean);
}

/**
 * The docker-load tarball of `stapelkit/busybox:<arch>` (for a daemon with an image store, or to
 * push to a registry for one without). `cacheDir` keeps the downloaded arm64 .deb between runs.
 */
export async function busyboxTarball(arch: BusyboxArch, cacheDir: string, tag = busyboxTag(arch)): Promise<Buffer> {
  let binPath: string;
  let tmp: string | undefined;
  if (arch === 'amd64' && process.arch === 'x64') {
    binPath = '/bin/busybox';
    if (!fs.existsSync(binPath)) throw new StapelkitError('BASE_IMAGE', '/bin/busybox not found', { hint: 'install Debian\'s busybox-static package' });
  } else if (arch === 'arm64') {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stapelkit-bb-'));
    binPath = path.join(tmp, 'busybox');
    fs.writeFileSync(binPath, await arm64Busybox(cacheDir), { mode: 0o755 });
  } else {
    throw new StapelkitError('BASE_IMAGE', `cannot make a ${arch} busybox image on a ${process.arch} host`);
  }
  try {
    const layer = writeTar(busyboxRootfs(fs.readFileSync(binPath), appletList(binPath, arch)));
    return imageTarball({ tag, arch, layer }).tarball;
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Loads `stapelkit/busybox:<arch>` into the daemon unless the tag already exists. Returns the tag. */
export async function ensureBusyboxImage(docker: DockerApi, arch: BusyboxArch, cacheDir: string): Promise<string> {
  const tag = busyboxTag(arch);
  const existing = await docker.inspectImage(tag);
  if (existing) return tag;
  await docker.loadImage(await busyboxTarball(arch, cacheDir, tag));
  if (!(await docker.inspectImage(tag))) throw new StapelkitError('BASE_IMAGE', `image ${tag} is missing right after loading it`);
  return tag;
}
