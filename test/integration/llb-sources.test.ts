/**
 * Source ops on the real daemon: http (testBuildHTTPSource: file name, perm, uid/gid, checksum,
 * 404) and git (a bare repo served over git's dumb HTTP protocol by this process: ref, keepGitDir),
 * plus image config applied with withImageConfig. The daemon fetches from 127.0.0.1: it must run in
 * this host's network namespace (dockerd does; a buildkitd in a container needs host networking).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as httpServer from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { git, http, image } from '../../src/llb';
import { baseImageConfig, testEnv, type TestEnv } from './harness';
import { entry, exportTar, inspect, solveError } from './llb-helpers';

interface Ctx {
  env: TestEnv;
  server: httpServer.Server;
  base: string;
  hits: Map<string, number>;
  repoRoot: string;
  commits: { first: string; second: string };
}

const t = suite<Ctx>('llb-sources');
const CONTENT = `content-${crypto.randomBytes(4).toString('hex')}\n`;
// Per run: a daemon that served an earlier run keeps the content it fetched under its ETag.
const ETAG = `"${crypto.createHash('sha256').update(CONTENT).digest('hex').slice(0, 16)}"`;

function sh(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A bare repo with two commits on `main` and a tag `v1` on the first, ready for dumb HTTP. */
function makeRepo(root: string): { first: string; second: string } {
  const work = path.join(root, 'work');
  fs.mkdirSync(work, { recursive: true });
  sh(work, 'init', '-q', '-b', 'main');
  fs.writeFileSync(path.join(work, 'README'), 'first\n');
  sh(work, 'add', '.');
  sh(work, 'commit', '-q', '-m', 'first');
  const first = sh(work, 'rev-parse', 'HEAD');
  sh(work, 'tag', 'v1');
  fs.mkdirSync(path.join(work, 'src'));
  fs.writeFileSync(path.join(work, 'README'), 'second\n');
  fs.writeFileSync(path.join(work, 'src/app.sh'), '#!/bin/sh\necho app\n', { mode: 0o755 });
  sh(work, 'add', '.');
  sh(work, 'commit', '-q', '-m', 'second');
  const second = sh(work, 'rev-parse', 'HEAD');
  sh(root, 'clone', '-q', '--bare', work, path.join(root, 'repo.git'));
  sh(path.join(root, 'repo.git'), 'update-server-info');
  return { first, second };
}

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.hits = new Map();
  ctx.repoRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-git-'));
  ctx.commits = makeRepo(ctx.repoRoot);
  const modified = new Date(Date.now() - 24 * 3600 * 1000);
  ctx.server = httpServer.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    ctx.hits.set(url, (ctx.hits.get(url) ?? 0) + 1);
    if (url === '/foo') {
      res.writeHead(200, { 'Content-Type': 'text/plain', ETag: ETAG, 'Last-Modified': modified.toUTCString() });
      res.end(CONTENT);
      return;
    }
    if (url.startsWith('/repo.git/')) {
      const file = path.join(ctx.repoRoot, path.normalize(url).replace(/^\/+/, ''));
      if (file.startsWith(ctx.repoRoot) && fs.existsSync(file) && fs.statSync(file).isFile()) {
        res.writeHead(200);
        res.end(fs.readFileSync(file));
        return;
      }
    }
    res.writeHead(404);
    res.end('not found');
  });
  await new Promise<void>((r) => ctx.server.listen(0, '127.0.0.1', r));
  ctx.base = `http://127.0.0.1:${(ctx.server.address() as AddressInfo).port}`;
});

t.after(async (ctx) => {
  await new Promise((r) => ctx.server?.close(r));
  if (ctx.repoRoot) fs.rmSync(ctx.repoRoot, { recursive: true, force: true });
  await ctx.env?.stop();
});

t('http: the file arrives under its URL name (testBuildHTTPSource)', async ({ env, base }) => {
  const files = await exportTar(env, http(`${base}/foo`));
  assert.equal([...files.keys()], ['foo']);
  assert.is(entry(files, 'foo').data.toString(), CONTENT);
});

t('http: filename, perm and uid/gid attrs', async ({ env, base }) => {
  const files = await exportTar(env, http(`${base}/foo`, { filename: 'bar', perm: 0o741, uid: 1000, gid: 1001 }));
  const bar = entry(files, 'bar');
  assert.is(bar.data.toString(), CONTENT);
  assert.is(bar.mode & 0o7777, 0o741);
  assert.equal([bar.uid, bar.gid], [1000, 1001]);
  assert.not.ok(files.has('foo'));
});

t('http: checksum is verified; a 404 fails', async ({ env, base }) => {
  const good = `sha256:${crypto.createHash('sha256').update(CONTENT).digest('hex')}`;
  const files = await exportTar(env, http(`${base}/foo`, { checksum: good, filename: 'checked' }));
  assert.is(entry(files, 'checked').data.toString(), CONTENT);
  const bad = await solveError(env, http(`${base}/foo`, { checksum: `sha256:${'0'.repeat(64)}`, filename: 'bad' }));
  assert.ok(bad, 'a wrong checksum must fail');
  assert.match(bad!, /digest|checksum|mismatch/i);
  const missing = await solveError(env, http(`${base}/nope`));
  assert.ok(missing, '404 must fail');
  assert.match(missing!, /404/);
});

t('git: a branch, a tag and a commit check out the right tree', async ({ env, base, commits }) => {
  const remote = `${base}/repo.git`;
  const main = await exportTar(env, git(remote, 'main'));
  assert.is(entry(main, 'README').data.toString(), 'second\n');
  assert.is(entry(main, 'src/app.sh').mode & 0o111, 0o111, 'the executable bit survives');
  assert.not.ok(main.has('.git'), 'no .git without keepGitDir');
  const tag = await exportTar(env, git(remote, 'v1'));
  assert.is(entry(tag, 'README').data.toString(), 'first\n');
  assert.not.ok(tag.has('src/app.sh'));
  const byCommit = await exportTar(env, git(remote, commits.first));
  assert.is(entry(byCommit, 'README').data.toString(), 'first\n');
});

t('git: keepGitDir keeps a .git whose HEAD is the checked-out commit', async ({ env, base, commits }) => {
  const out = await inspect(env, git(`${base}/repo.git`, 'main', { keepGitDir: true }), 'test -d .git && echo has-git; cat .git/HEAD');
  // BuildKit checks out the resolved commit (detached HEAD).
  assert.is(out, `has-git\n${commits.second}\n`);
});

t('withImageConfig: Env, WorkingDir and User of the image config reach the process', async ({ env }) => {
  const base = await baseImageConfig(env);
  assert.ok(base.config?.Env?.some((e) => e.startsWith('PATH=')), 'the fixture config has a PATH');
  const cfg = { architecture: base.architecture, os: base.os, config: { ...base.config, Env: [...(base.config?.Env ?? []), 'FROM_CONFIG=yes'], WorkingDir: '/var/www', User: 'www-data' } };
  const st = image(env.images.amd64).withImageConfig(cfg);
  const run = st.run({ shell: 'echo "$FROM_CONFIG $(pwd) $(id -u)" > /tmp/o; cat /tmp/o > /var/www/report' });
  const files = await exportTar(env, run.root());
  assert.is(entry(files, 'var/www/report').data.toString(), 'yes /var/www 33\n');
});

t.run();
