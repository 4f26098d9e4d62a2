/**
 * The frontend image's files as bin/stapelkit-frontend runs them, outside any container: the bundle
 * (scripts/bundle.ts) runs with no node_modules anywhere above it, `--write-code-cache` leaves a
 * cache this node accepts, a garbage cache is reported rejected (and only costs the compile), and a
 * run never writes next to the bundle (the image's root filesystem may be read-only).
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { bundleFrontend } from '../../../scripts/bundle';

const t = suite('frontend/bundle');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'skt-febundle-')));
t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// As the image runs it: no NODE_OPTIONS (the test runner's --import tsx would change V8's flags).
const ENV = { PATH: process.env.PATH ?? '/usr/bin:/bin', NODE_ENV: 'production' };

function frontend(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [path.join(tmp, 'bin', 'stapelkit-frontend'), ...args], { encoding: 'utf8', env: ENV, stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

t('the bundle runs without node_modules, with the code cache written at build time; a run writes nothing', () => {
  assert.not.ok(fs.existsSync(path.join(path.dirname(tmp), 'node_modules')), 'no node_modules above the temp dir');
  fs.mkdirSync(path.join(tmp, 'bin'));
  fs.copyFileSync(path.join(ROOT, 'bin', 'stapelkit-frontend'), path.join(tmp, 'bin', 'stapelkit-frontend'));
  fs.cpSync(path.join(ROOT, 'proto'), path.join(tmp, 'proto'), { recursive: true });
  const dist = path.join(tmp, 'dist');
  bundleFrontend(dist);
  const cache = path.join(dist, 'frontend.cache');

  // No cache yet: compiled from source, and the frontend runs (stdin is no bridge: it gives up, exit 1).
  const cold = frontend();
  assert.is(cold.status, 1, cold.stderr);
  assert.match(cold.stderr, /code cache none,/);
  assert.match(cold.stderr, /cannot reach BuildKit's LLBBridge/);

  const w = frontend('--write-code-cache', cache);
  assert.is(w.status, 0, w.stderr);
  assert.match(w.stderr, /config: 1 image\(s\)/, 'the warm-up ran a whole werf.yaml build');
  assert.ok(fs.statSync(cache).size > 100_000, `cache of ${fs.statSync(cache).size} bytes`);
  const check = frontend('--check-code-cache', cache);
  assert.is(check.status, 0, check.stdout + check.stderr);
  assert.is(check.stdout.trim(), 'code cache accepted');

  const before = fs.readdirSync(dist).sort();
  const mtime = fs.statSync(cache).mtimeMs;
  const warm = frontend();
  assert.is(warm.status, 1, warm.stderr);
  assert.match(warm.stderr, /code cache accepted,/);
  assert.match(warm.stderr, /cannot reach BuildKit's LLBBridge/);
  assert.equal(fs.readdirSync(dist).sort(), before, 'nothing written next to the bundle');
  assert.is(fs.statSync(cache).mtimeMs, mtime);

  // A cache V8 refuses (another node, other flags; here garbage) is reported and left alone.
  fs.writeFileSync(cache, 'not a code cache');
  assert.is(frontend('--check-code-cache', cache).status, 1);
  const rejected = frontend();
  assert.match(rejected.stderr, /code cache rejected,/);
  assert.match(rejected.stderr, /cannot reach BuildKit's LLBBridge/);
  assert.is(fs.readFileSync(cache, 'utf8'), 'not a code cache');
});

t.run();
