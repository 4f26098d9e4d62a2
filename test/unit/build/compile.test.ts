/**
 * `stapelkit compile` without a daemon: joining final graphs, what a graph needs from its solver,
 * the buildctl flags, the JSON dump, and whole compiles of a throw-away git project — the same
 * bytes twice, a commit outside every mapping changes nothing, a mapped file changes exactly the
 * ops that read it, and a base image config without a daemon says what needed the daemon.
 */
import * as assert from 'uvu/assert';
import { suite } from 'uvu';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeDefinition, image, local, marshal, scratch, copy } from '../../../src/llb';
import { buildctlFlags, compileDump, formatBuildctlCommand, graphNeeds, joinResults, resultDir, shellWord } from '../../../src/build/compile';
import { runCompile, type CompileResult } from '../../../src/build/compile-run';
import { isStapelkitError } from '../../../src/errors';

const t = suite('build/compile');

const busy = image('docker.io/library/busybox:latest');

t('one result is the graph itself; several are copied side by side into /<image>, sorted', () => {
  const a = busy.file(copy(local('x'), '/', '/a'));
  assert.is(joinResults([{ image: 'a', platform: 'linux/amd64', state: a }]), a);
  const b = busy.run({ args: ['true'] }).root();
  const root = joinResults([
    { image: 'b', platform: 'linux/amd64', state: b },
    { image: 'a', platform: 'linux/amd64', state: a },
  ]);
  const d = decodeDefinition(marshal(root, { localUniqueId: 'u' }).toBytes());
  const fileOp = d.ops[d.ops.length - 2].op;
  assert.equal(
    fileOp.file.actions.map((x: any) => x.copy.dest),
    ['/a', '/b'],
  );
  assert.ok(fileOp.file.actions.every((x: any) => x.copy.src === '/' && x.copy.dirCopyContents && x.copy.createDestPath));
  assert.is(fileOp.inputs.length, 2);
  assert.is(resultDir({ image: 'a', platform: 'linux/arm64/v8' }, true), '/a/linux-arm64-v8');
  assert.is(resultDir({ image: '', platform: 'linux/amd64' }, false), '/~');
  const two = joinResults([
    { image: 'a', platform: 'linux/arm64', state: a },
    { image: 'a', platform: 'linux/amd64', state: b },
  ]);
  const d2 = decodeDefinition(marshal(two).toBytes());
  assert.equal(d2.ops[d2.ops.length - 2].op.file.actions.map((x: any) => x.copy.dest), ['/a/linux-amd64', '/a/linux-arm64']);
  assert.ok(joinResults([]).isScratch());
});

t('graphNeeds: locals, secret mounts and secret env, ssh mounts — sorted, deduplicated', () => {
  const st = busy
    .run({ args: ['a'], mounts: [{ type: 'bind', target: '/src', from: local('src-b') } as any, { type: 'secret', id: 'tok' }, { type: 'ssh' }] })
    .root()
    .run({ args: ['b'], mounts: [{ type: 'bind', target: '/other', from: local('src-a') } as any, { type: 'secret', id: 'abc' }, { type: 'secret', id: 'tok' }, { type: 'ssh', id: 'work' }] })
    .root();
  const needs = graphNeeds(marshal(st, { localUniqueId: 'u' }));
  assert.equal(needs, { locals: ['src-a', 'src-b'], secrets: ['abc', 'tok'], ssh: ['default', 'work'] });
  assert.equal(graphNeeds(marshal(busy)), { locals: [], secrets: [], ssh: [] });
});

t('buildctl flags: locals, then secrets (unknown ones reported), then ssh; shell words quoted only when needed', () => {
  const r = buildctlFlags({
    needs: { locals: ['git-1', 'mount-2'], secrets: ['a', 'gone'], ssh: ['default'] },
    localDir: (n) => `/out/${n === 'git-1' ? 'with space' : n}`,
    secret: (id) => (id === 'a' ? 'id=a,env=A' : undefined),
    ssh: (id) => id,
  });
  assert.equal(r.flags, [['--local', 'git-1=/out/with space'], ['--local', 'mount-2=/out/mount-2'], ['--secret', 'id=a,env=A'], ['--ssh', 'default']]);
  assert.equal(r.unknownSecrets, ['gone']);
  assert.is(shellWord('id=a,src=/x/y'), 'id=a,src=/x/y');
  assert.is(shellWord("it's"), `'it'\\''s'`);
  const cmd = formatBuildctlCommand(r.flags);
  assert.match(cmd, /^buildctl build \\\n {4}--local 'git-1=\/out\/with space' \\\n/);
  assert.match(cmd, /< definition\.pb$/);
});

t('json dump: ops with digests, names, decoded mounts and source locations; the source files', () => {
  const { SourceMap } = require('../../../src/llb/sourcemap') as typeof import('../../../src/llb/sourcemap');
  const sm = new SourceMap('werf.yaml', Buffer.from('a: 1\nb: 2\n'), undefined, 'yaml');
  const st = busy.run({ args: ['x'], mounts: [{ type: 'secret', id: 's' }], location: sm.at(2, 1) } as any).root();
  const def = marshal(st);
  const dump = compileDump(def);
  assert.is(dump.ops.length, def.ops.length);
  assert.equal(dump.ops.map((o) => o.Digest), def.ops.map((o) => o.digest));
  const exec = dump.ops.find((o) => o.Kind === 'exec')!;
  assert.ok((exec.Op as any).exec.mounts.some((m: any) => m.secretOpt?.ID === 's'));
  if (def.source) {
    assert.equal(exec.Locations?.[0].file, 'werf.yaml');
    assert.equal(dump.sources, [{ filename: 'werf.yaml', language: 'yaml', bytes: 10 }]);
  }
  assert.equal(dump.needs.secrets, ['s']);
});

// ---- whole compiles of a git project, no daemon ----

function git(dir: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd: dir, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t', GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

function project(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'skt-compile-'));
  git(dir, 'init', '-q', '-b', 'main');
  write(dir, files);
  return dir;
}

function write(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
  git(dir, 'add', '-A');
  git(dir, 'commit', '-q', '-m', 'c');
}

const WERF = `project: cmp
configVersion: 1
---
image: app
from: scratch
git:
- add: /src
  to: /app
---
image: tool
from: scratch
shell:
  install:
  - echo tool > /tool
---
image: top
fromImage: app
shell:
  setup:
  - cat /app/a.txt
`;

async function compile(dir: string, extra: Record<string, unknown> = {}): Promise<{ bytes: Buffer; err: string; r: CompileResult }> {
  const chunks: Buffer[] = [];
  let err = '';
  const out = { write: (c: string | Buffer) => (chunks.push(Buffer.from(c)), true) } as unknown as NodeJS.WritableStream;
  const errS = { write: (c: string) => ((err += c), true) } as unknown as NodeJS.WritableStream;
  const env = { ...process.env, XDG_CACHE_HOME: path.join(dir, '.cache-x'), XDG_STATE_HOME: path.join(dir, '.state-x') };
  const r = await runCompile({ images: [], dir, outDir: path.join(os.tmpdir(), `skt-cout-${path.basename(dir)}`), ...extra } as never, { out, err: errS, env });
  return { bytes: Buffer.concat(chunks), err, r };
}

const opsByName = (bytes: Buffer) => {
  const d = decodeDefinition(bytes);
  return new Set(d.ops.map((o) => o.digest));
};

t('the same project compiles to the same bytes; a commit outside every mapping changes nothing', async () => {
  const dir = project({ 'werf.yaml': WERF, 'src/a.txt': 'a\n', 'README': 'one\n' });
  const one = await compile(dir);
  const two = await compile(dir);
  assert.ok(one.bytes.length > 0);
  assert.ok(one.bytes.equals(two.bytes), 'same input, same bytes');
  write(dir, { README: 'two\n' });
  const three = await compile(dir);
  assert.ok(one.bytes.equals(three.bytes), 'an unrelated commit leaves the Definition as it was');
  assert.is(one.r.daemonNeeds.length, 0);
  assert.match(one.err, /no daemon was needed/);
  // Only final images are roots: app, tool and top side by side.
  assert.match(one.err, /\(\/app, \/tool, \/top\)/);
});

t('a mapped file changes exactly its git source, the stages that read it, and the joining root', async () => {
  const dir = project({ 'werf.yaml': WERF, 'src/a.txt': 'a\n' });
  const before = await compile(dir);
  write(dir, { 'src/a.txt': 'changed\n' });
  const after = await compile(dir);
  const b = decodeDefinition(before.bytes);
  const a = decodeDefinition(after.bytes);
  const name = (d: typeof b, dg: string) => before.r.definition.op(dg)?.name ?? after.r.definition.op(dg)?.name ?? dg;
  const inA = new Set(a.ops.map((o) => o.digest));
  const gone = b.ops.filter((o) => !inA.has(o.digest)).map((o) => name(b, o.digest));
  assert.equal(gone.sort(), [
    '[internal] ' + before.r.needs.locals[0],
    '[stapelkit] 3 images: app, tool, top',
    'image "app", stage gitArchive',
    'image "top", stage setup',
    'image "top", stage setup: clean mount stubs',
    'result',
  ].sort());
  // The tool image and top's setup script (a mkfile of the commands) are untouched.
  const kept = b.ops.filter((o) => inA.has(o.digest)).map((o) => name(b, o.digest));
  assert.ok(kept.some((n) => n.startsWith('image "tool"')));
  assert.ok(kept.includes('image "top", stage setup: script'));
  assert.not.equal(before.r.needs.locals, after.r.needs.locals);
  // The printed --local dir holds the mapped content.
  const dirA = after.r.locals[after.r.needs.locals[0]];
  assert.is(fs.readFileSync(path.join(dirA, 'a.txt'), 'utf8'), 'changed\n');
  assert.match(after.err, new RegExp(`--local ${after.r.needs.locals[0]}=`));
  assert.ok(opsByName(after.bytes).size > 0);
});

t('--format json is the same Definition decoded; naming one image gives that image alone', async () => {
  const dir = project({ 'werf.yaml': WERF, 'src/a.txt': 'a\n' });
  const pb = await compile(dir, { images: ['top'] });
  const json = await compile(dir, { images: ['top'], format: 'json' });
  const dump = JSON.parse(json.bytes.toString());
  assert.equal(dump.ops.map((o: any) => o.Digest), decodeDefinition(pb.bytes).ops.map((o) => o.digest));
  assert.ok(!dump.ops.some((o: any) => String(o.Name).startsWith('[stapelkit]')), 'one image: no joining op');
  assert.ok(dump.ops.some((o: any) => o.Locations?.[0]?.file === 'werf.yaml'), 'source locations');
  assert.equal(dump.sources.map((s: any) => s.filename), ['werf.yaml']);
  assert.equal(dump.needs.secrets, ['stapelkit-werf-commit-env']);
  const secretFlag = pb.r.flags.find((f) => f[0] === '--secret')![1];
  const file = secretFlag.split('src=')[1];
  assert.match(fs.readFileSync(file, 'utf8'), new RegExp(git(dir, 'rev-parse', 'HEAD')));
  assert.is(fs.statSync(file).mode & 0o777, 0o600);
});

t('a base image config without a daemon: the error says what needed one', async () => {
  const dir = project({ 'werf.yaml': 'project: cmp2\nconfigVersion: 1\n---\nimage: x\nfrom: alpine:3.19\n' });
  try {
    await compile(dir, { addr: 'unix:///nonexistent/buildkitd.sock' });
    assert.unreachable('compiled without a daemon');
  } catch (e) {
    assert.ok(isStapelkitError(e), String(e));
    assert.is((e as any).code, 'DAEMON_NEEDED');
    assert.match((e as Error).message, /the image config of alpine:3\.19/);
  }
});

t.run();
