/**
 * Builds test/go-buildctl (a `buildctl build` over BuildKit's own Go client library, see main.go)
 * from Debian's Go sources: GOPATH mode over /usr/share/gocode, with Debian's fsutil copied into a
 * private GOPATH entry that shadows it, plus the one method BuildKit v0.8 needs of it
 * (fsutil-types/stat_sized.go). Tests never install packages: without them this returns null and
 * says why (scripts/install-deps.sh installs them).
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');
const SRC_DIR = path.join(ROOT, 'test', 'go-buildctl');
const SOURCES = [path.join(SRC_DIR, 'main.go'), path.join(SRC_DIR, 'fsutil-types', 'stat_sized.go')];
const GOCODE = '/usr/share/gocode/src';
const NEEDED = ['github.com/moby/buildkit/client', 'github.com/tonistiigi/fsutil', 'github.com/tonistiigi/units', 'github.com/gofrs/flock', 'github.com/google/shlex', 'github.com/grpc-ecosystem/grpc-opentracing'];

export const GO_BUILDCTL_MISSING =
  'go-buildctl needs golang-go, golang-github-docker-docker-dev, golang-github-tonistiigi-fsutil-dev, golang-github-tonistiigi-units-dev, golang-github-gofrs-flock-dev, golang-github-google-shlex-dev and golang-github-grpc-ecosystem-grpc-opentracing-dev (scripts/install-deps.sh)';

/** The binary, built when missing or older than its sources; null when Go or the Debian sources are missing. */
export function ensureGoBuildctl(): string | null {
  const out = path.join(os.tmpdir(), `stapelkit-go-buildctl-${process.getuid?.() ?? 'u'}`);
  const bin = path.join(out, 'go-buildctl');
  const newest = Math.max(...SOURCES.map((f) => fs.statSync(f).mtimeMs));
  if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= newest) return bin;
  if (spawnSync('go', ['version']).status !== 0 || !NEEDED.every((p) => fs.existsSync(path.join(GOCODE, p)))) return null;
  const gopath = path.join(out, 'gopath');
  const fsutil = path.join(gopath, 'src', 'github.com', 'tonistiigi', 'fsutil');
  fs.rmSync(path.join(gopath, 'src'), { recursive: true, force: true });
  fs.mkdirSync(path.dirname(fsutil), { recursive: true });
  fs.cpSync(path.join(GOCODE, 'github.com', 'tonistiigi', 'fsutil'), fsutil, { recursive: true, dereference: true });
  fs.copyFileSync(SOURCES[1], path.join(fsutil, 'types', 'stat_sized.go'));
  const main = path.join(gopath, 'src', 'go-buildctl');
  fs.mkdirSync(main, { recursive: true });
  fs.copyFileSync(SOURCES[0], path.join(main, 'main.go'));
  const tmp = `${bin}.${process.pid}.tmp`;
  const r = spawnSync('go', ['build', '-o', tmp, 'go-buildctl'], {
    encoding: 'utf8',
    env: { ...process.env, GO111MODULE: 'off', GOPATH: `${gopath}:/usr/share/gocode`, GOCACHE: path.join(out, 'cache'), GOFLAGS: '' },
    timeout: 600_000,
  });
  if (r.status !== 0) throw new Error(`building go-buildctl failed:\n${r.stderr}`);
  fs.renameSync(tmp, bin);
  return bin;
}

/**
 * go-buildctl's --addr for a test daemon address: dockerd through its /grpc upgrade, a buildkitd on
 * a unix socket or plain tcp as it is; undefined for tcp with TLS (go-buildctl takes no TLS flags).
 */
export function goBuildctlAddr(addr: string): string | undefined {
  if (addr.startsWith('docker://unix://')) return `docker-unix://${addr.slice('docker://unix://'.length)}`;
  if (addr.startsWith('unix://')) return addr;
  if (addr.startsWith('tcp://') && !process.env.STAPELKIT_TEST_TLSCACERT) return addr;
  return undefined;
}

/** Runs go-buildctl with `input` on stdin: exit code, stdout, stderr. */
export function runGoBuildctl(bin: string, args: string[], opts: { input?: Buffer; env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.end(opts.input ?? Buffer.alloc(0));
  });
}
