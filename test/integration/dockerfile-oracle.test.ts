/**
 * The oracle: every Dockerfile in test/dockerfiles/ is built on the same dockerd twice — with our
 * compiler (LLB through BuildkitClient, moby exporter, our image config) and with `docker build`
 * (the daemon's own dockerfile.v0 frontend, BuildKit v0.8) — and the two images are compared: file
 * tree (paths, types, modes, owners, sizes, contents, link targets) and image config field by field
 * (+ history). Cases with `oracle: false` use syntax newer than v0.8 and are checked by their files.
 * Every difference fails unless case.json `intended` records why.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { testEnv, testImageName, type TestEnv } from './harness';
import { buildOurs, buildTheirs, configDiff, imageTree, readCase, savedConfig, treeDiff, type CaseSpec } from './dockerfile-helpers';

const CORPUS = path.resolve(__dirname, '../dockerfiles');
const only = process.env.DOCKERFILE_CASES?.split(',');
const t = suite<{ env: TestEnv; images: string[] }>('dockerfile-oracle');
const summary = { identical: 0, intended: 0, fileChecked: 0, cases: 0 };

// ADD <url> cases fetch from this server; the daemon's http source runs in dockerd's (host) netns.
let httpBase = '';
const server = http.createServer((req, res) => {
  if (req.url === '/file.txt') res.end('downloaded\n');
  else if (req.url === '/dir/archive.tar.gz') res.end(Buffer.from('not unpacked'));
  else {
    res.statusCode = 404;
    res.end();
  }
});
function withHttp(spec: CaseSpec): CaseSpec {
  if (!spec.buildArgs) return spec;
  return { ...spec, buildArgs: Object.fromEntries(Object.entries(spec.buildArgs).map(([k, v]) => [k, v.replace('{{HTTP}}', httpBase)])) };
}

t.before(async (ctx) => {
  ctx.env = await testEnv();
  ctx.images = [];
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  httpBase = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});
t.after(async (ctx) => {
  for (const img of ctx.images) await ctx.env.docker.removeImage(img).catch(() => undefined);
  console.log(`oracle summary: ${summary.cases} cases, ${summary.identical} identical to docker build, ${summary.intended} with recorded intended differences, ${summary.fileChecked} checked by files only`);
  server.close();
  await ctx.env?.stop();
});

for (const name of fs.readdirSync(CORPUS).sort()) {
  const dir = path.join(CORPUS, name);
  if (!fs.statSync(dir).isDirectory() || (only && !only.includes(name))) continue;
  const spec = readCase(dir);
  t(name, async ({ env, images }) => {
    if (spec.platform === 'linux/arm64' && !env.images.arm64) {
      console.log(`  ${name}: skipped (${env.images.arm64Note ?? 'no arm64'})`);
      return;
    }
    summary.cases++;
    if (spec.pre) {
      const pre = (spec as { pre: { dir: string; tag: string } }).pre;
      await buildTheirs(env, path.join(CORPUS, pre.dir), pre.tag, {});
      images.push(pre.tag);
    }
    const ours = testImageName(`ours-${name}`);
    if (spec.error) {
      let msg = '';
      try {
        await buildOurs(env, dir, ours, withHttp(spec));
      } catch (e) {
        msg = (e as { format?: () => string }).format?.() ?? (e as Error).message;
      }
      assert.match(msg, new RegExp(spec.error), `our build fails naming the cause: ${msg}`);
      if (spec.errorAt) assert.ok(msg.startsWith(spec.errorAt), `our error names the Dockerfile line: ${msg}`);
      let theirs = '';
      await buildTheirs(env, dir, testImageName(`theirs-${name}`), withHttp(spec)).catch((e: Error) => (theirs = e.message));
      assert.match(theirs, new RegExp(spec.error), 'docker build fails the same way');
      summary.identical++;
      return;
    }
    await buildOurs(env, dir, ours, withHttp(spec));
    images.push(ours);
    const ourTree = await imageTree(env, ours, spec.platform);
    for (const [p, want] of Object.entries(spec.expect ?? {})) {
      const got = ourTree.get(p);
      assert.ok(got, `${p} exists in our image`);
      if (want.mode) assert.is(got!.mode, want.mode, `${p} mode`);
      if (want.owner) assert.is(got!.owner, want.owner, `${p} owner`);
      if (want.content !== undefined) {
        const data = await env.docker.run(ours, ['cat', p], { platform: spec.platform });
        assert.is(data.stdout, want.content, `${p} content`);
      }
    }
    if (spec.oracle === false) {
      summary.fileChecked++;
      return;
    }
    const theirs = testImageName(`theirs-${name}`);
    await buildTheirs(env, dir, theirs, withHttp(spec));
    images.push(theirs);
    const theirTree = await imageTree(env, theirs, spec.platform);
    const files = treeDiff(ourTree, theirTree);
    assert.equal(files, [], 'file trees are identical');
    const cfg = configDiff(await savedConfig(env, ours), await savedConfig(env, theirs));
    const intended = spec.intended ?? {};
    for (const k of Object.keys(intended)) delete cfg[k];
    assert.equal(cfg, {}, 'image configs are identical');
    if (Object.keys(intended).length) summary.intended++;
    else summary.identical++;
  });
}

t.run();
