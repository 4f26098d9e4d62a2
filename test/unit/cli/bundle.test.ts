/**
 * The one-file CLI (scripts/bundle.ts) as bin/stapelkit runs it: the bundle is picked over an older
 * tsc output, the first run of a command leaves a V8 code cache that later runs use, a cache V8
 * rejects (here: garbage) is rewritten, and a tsc output newer than the bundle wins over it.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleCli, CODE_CACHE_DIR } from '../../../scripts/bundle';

const t = suite('cli/bundle');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-bundle-')));
t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function stapelkit(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(path.join(tmp, 'bin', 'stapelkit'), args, { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** bin/stapelkit (the shell script) and the loader it runs, copied into `dir`/bin. */
function copyBin(dir: string): void {
  fs.mkdirSync(path.join(dir, 'bin'), { recursive: true });
  for (const f of ['stapelkit', 'stapelkit.cjs']) fs.copyFileSync(path.join(ROOT, 'bin', f), path.join(dir, 'bin', f));
}

t('bin/stapelkit runs the bundle with a code cache per command; a rejected cache is rewritten; a newer tsc output wins', () => {
  const version = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  copyBin(tmp);
  fs.writeFileSync(path.join(tmp, 'package.json'), JSON.stringify({ version }));
  // An older tsc output that must not be run.
  const compiled = path.join(tmp, 'dist', 'src', 'cli', 'main.js');
  fs.mkdirSync(path.dirname(compiled), { recursive: true });
  fs.writeFileSync(compiled, 'exports.main = async () => { process.stdout.write("tsc output\\n"); return 0; };\n');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(compiled, old, old);
  const { file } = bundleCli(path.join(tmp, 'dist'));
  // ASCII (bin/stapelkit reads it as a one-byte string) and with esbuild's namespace helper shared.
  const bytes = fs.readFileSync(file);
  assert.ok(isAscii(bytes), 'the bundle is ASCII');
  assert.match(bytes.toString('latin1'), /var __toESMShared = new WeakMap\(\);/);
  const cacheDir = path.join(path.dirname(file), CODE_CACHE_DIR);
  assert.not.ok(fs.existsSync(cacheDir), 'a new bundle has no code cache');

  const first = stapelkit('--version');
  assert.is(first.status, 0, first.stderr);
  assert.is(first.stdout.trim(), version);
  const caches = fs.readdirSync(cacheDir);
  assert.is(caches.length, 1);
  assert.match(caches[0], /^other\.\d+\.\d+\.bin$/);
  const written = fs.statSync(path.join(cacheDir, caches[0])).size;
  assert.ok(written > 1000, `cache of ${written} bytes`);

  // Used, not rewritten, by the next run of the same command.
  const before = fs.statSync(path.join(cacheDir, caches[0])).mtimeMs;
  assert.is(stapelkit('--version').stdout.trim(), version);
  assert.is(fs.statSync(path.join(cacheDir, caches[0])).mtimeMs, before);

  // A cache V8 rejects is replaced.
  fs.writeFileSync(path.join(cacheDir, caches[0]), 'not a code cache');
  assert.is(stapelkit('--version').stdout.trim(), version);
  assert.ok(fs.statSync(path.join(cacheDir, caches[0])).size > 1000, 'rewritten');

  // Another command gets its own cache.
  const help = stapelkit('compile', '--help');
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /buildctl build/);
  assert.ok(fs.readdirSync(cacheDir).some((f) => f.startsWith('compile.')));

  // tsc output newer than the bundle: that is what runs.
  const now = new Date(Date.now() + 60_000);
  fs.utimesSync(compiled, now, now);
  assert.is(stapelkit('--version').stdout, 'tsc output\n');
});

t('the rpc bundle carries grpc-js and protobufjs (no node_modules needed), and proto.json is proto/ as parsed', () => {
  bundleCli(path.join(tmp, 'dist'));
  const script = `
    const { rpc } = require('./dist/stapelkit-rpc.js');
    const root = rpc.protobuf.Root.fromJSON(JSON.parse(require('fs').readFileSync('./dist/proto.json', 'utf8')));
    root.resolveAll();
    const t = root.lookupType('moby.buildkit.v1.StatusResponse');
    const bytes = Buffer.from(t.encode(t.fromObject({ vertexes: [{ digest: 'sha256:x', name: 'n' }] })).finish()).toString('hex');
    const svc = root.lookupService('moby.buildkit.v1.Control').methodsArray.map((m) => m.name).sort();
    let reachable = true;
    try { require.resolve('@grpc/grpc-js'); } catch { reachable = false; }
    process.stdout.write(JSON.stringify({ bytes, svc, grpc: typeof rpc.grpc.credentials.createInsecure, reachable }));`;
  const r = spawnSync(process.execPath, ['-e', script], { cwd: tmp, encoding: 'utf8', env: { ...process.env, NODE_PATH: '' } });
  assert.is(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as { bytes: string; svc: string[]; grpc: string; reachable: boolean };
  const { messageType, protoRoot } = require('../../../src/proto') as typeof import('../../../src/proto');
  const t = messageType('moby.buildkit.v1.StatusResponse');
  assert.is(got.bytes, Buffer.from(t.encode(t.fromObject({ vertexes: [{ digest: 'sha256:x', name: 'n' }] })).finish()).toString('hex'));
  assert.equal(got.svc, protoRoot().lookupService('moby.buildkit.v1.Control').methodsArray.map((m) => m.name).sort());
  assert.is(got.grpc, 'function');
  assert.is(got.reachable, false, 'node_modules is out of reach there');
});

t('bin/stapelkit keeps $NODE_EXTRA_CA_CERTS from Node start-up, hands it to main(), and restores it for children; through a symlink too', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'ca-'));
  copyBin(dir);
  const compiled = path.join(dir, 'dist', 'src', 'cli', 'main.js');
  fs.mkdirSync(path.dirname(compiled), { recursive: true });
  // A stand-in CLI that reports what it was given.
  fs.writeFileSync(
    compiled,
    'exports.main = async (argv, opts) => { process.stdout.write(JSON.stringify({ opt: opts && opts.deferredCaCerts, env: process.env.NODE_EXTRA_CA_CERTS, inner: process.env.STAPELKIT_DEFERRED_CA_CERTS ?? null })); return 0; };\n',
  );
  fs.symlinkSync(path.join(dir, 'bin', 'stapelkit'), path.join(dir, 'linked-stapelkit'));
  // A file that does not exist: had Node loaded it at start-up, it would warn "Ignoring extra certs".
  const missing = path.join(dir, 'no-such-bundle.pem');
  for (const bin of [path.join(dir, 'bin', 'stapelkit'), path.join(dir, 'linked-stapelkit')]) {
    const r = spawnSync(bin, ['x'], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: missing } });
    assert.is(r.status, 0, r.stderr);
    assert.not.match(r.stderr, /extra certs/i, 'Node did not load the file at start-up');
    assert.equal(JSON.parse(r.stdout), { opt: missing, env: missing, inner: null });
  }
  // Unset: nothing deferred, nothing invented.
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync(path.join(dir, 'bin', 'stapelkit'), ['x'], { encoding: 'utf8', env });
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(r.stdout), { inner: null });
});

t.run();
