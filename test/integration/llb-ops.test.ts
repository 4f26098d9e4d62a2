/**
 * FileOp semantics on the real daemon: BuildKit's own client tests (testFileOpMkdirMkfile,
 * testFileOpCopyRm, testFileOpRmWildcard, …) re-expressed with our State API. Every result is
 * exported as a tar through the session's FileSend (or stat'ed inside busybox) and inspected.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copy, decodeDefinition, image, local, marshal, mkdir, mkfile, rm, scratch } from '../../src/llb';
import { testEnv, type TestEnv } from './harness';
import { entry, exportTar, hostDir, inspect, removeHostDirs, solveError, statPaths } from './llb-helpers';

const t = suite<{ env: TestEnv }>('llb-ops');

t.before(async (ctx) => {
  ctx.env = await testEnv();
});
t.after(async (ctx) => {
  removeHostDirs();
  await ctx.env?.stop();
});

t('mkdir + mkfile chain on scratch (testFileOpMkdirMkfile)', async ({ env }) => {
  const st = scratch().file(mkdir('/foo', 0o700).mkfile('bar', 0o600, 'contents'));
  const files = await exportTar(env, st);
  assert.is(entry(files, 'foo').type, 'dir');
  assert.is(entry(files, 'foo').mode & 0o7777, 0o700);
  assert.is(entry(files, 'bar').type, 'file');
  assert.is(entry(files, 'bar').mode & 0o7777, 0o600);
  assert.is(entry(files, 'bar').data.toString(), 'contents');
  assert.equal([...files.keys()].sort(), ['bar', 'foo']);
});

t('copy from two local sources, rm in between (testFileOpCopyRm)', async ({ env }) => {
  const dir = hostDir({ myfile: { data: 'data0', mode: 0o600 }, 'sub/foo': 'foo0', 'sub/bar': 'bar0' });
  const dir2 = hostDir({ file2: 'file2' });
  const files = await exportTar(
    env,
    (sessionId) =>
      scratch().file(
        copy(local('mylocal', { sessionId }), 'myfile', 'myfile2')
          .copy(local('mylocal', { sessionId }), 'sub', 'out')
          .rm('out/foo')
          .copy(local('mylocal2', { sessionId }), 'file2', '/'),
      ),
    { mylocal: dir, mylocal2: dir2 },
  );
  assert.is(entry(files, 'myfile2').data.toString(), 'data0');
  assert.is(entry(files, 'myfile2').mode & 0o777, 0o600, 'copy keeps the source mode');
  assert.is(entry(files, 'out').type, 'dir');
  assert.is(entry(files, 'out/bar').data.toString(), 'bar0');
  assert.not.ok(files.has('out/foo'), 'out/foo was removed');
  assert.is(entry(files, 'file2').data.toString(), 'file2');
  assert.not.ok(files.has('myfile'), 'the source name is not used at the destination');
});

t('rm with a wildcard removes every match (testFileOpRmWildcard)', async ({ env }) => {
  const dir = hostDir({ 'foo/target': 'foo0', 'bar/target': 'bar0', 'bar/remaining': 'bar1' });
  const files = await exportTar(
    env,
    (sessionId) =>
      scratch()
        .file(copy(local('mylocal', { sessionId }), 'foo', 'foo').copy(local('mylocal', { sessionId }), 'bar', 'bar'))
        .file(rm('*/target', { allowWildcard: true })),
    { mylocal: dir },
  );
  assert.is(entry(files, 'bar/remaining').data.toString(), 'bar1');
  assert.is(entry(files, 'foo').type, 'dir');
  assert.not.ok(files.has('foo/target'));
  assert.not.ok(files.has('bar/target'));
});

t('rm: a literal path is not a pattern; missing paths are no error on this daemon', async ({ env }) => {
  const base = scratch().file(mkfile('/keep', 0o644, 'k').mkfile('/other', 0o644, 'o'));
  // Without allowWildcard "/k*" is a literal name: nothing matches it, /keep stays.
  const literal = await exportTar(env, base.file(rm('/k*')));
  assert.is(entry(literal, 'keep').data.toString(), 'k');
  const wild = await exportTar(env, base.file(rm('/k*', { allowWildcard: true })));
  assert.not.ok(wild.has('keep'), 'the wildcard removed /keep');
  assert.is(entry(wild, 'other').data.toString(), 'o');
  // BuildKit removes with os.RemoveAll, which ignores a missing path: both forms succeed.
  assert.is(await solveError(env, base.file(rm('/missing'))), undefined);
  const files = await exportTar(env, base.file(rm('/missing', { allowNotFound: true })));
  assert.equal([...files.keys()].sort(), ['keep', 'other']);
});

t('mkfile writes the mode and contents, binary-safe', async ({ env }) => {
  const bin = Buffer.from([0, 1, 2, 255, 10, 13]);
  const st = scratch().file(mkfile('/a', 0o777, 'x').mkfile('/b', 0o640, bin).mkfile('/c', 0o400, ''));
  const files = await exportTar(env, st);
  // v0.8 writes the file with the daemon's umask (022) and does not chmod afterwards; newer
  // BuildKit keeps 0777. Any other value means the mode was encoded wrongly.
  assert.ok([0o777, 0o755].includes(entry(files, 'a').mode & 0o7777), (entry(files, 'a').mode & 0o7777).toString(8));
  assert.is(entry(files, 'b').mode & 0o7777, 0o640);
  assert.ok(entry(files, 'b').data.equals(bin), 'binary contents survive');
  assert.is(entry(files, 'c').mode & 0o7777, 0o400);
  assert.is(entry(files, 'c').size, 0);
});

t('mkdir needs makeParents for missing parents', async ({ env }) => {
  const err = await solveError(env, scratch().file(mkdir('/x/y/z', 0o755)));
  assert.ok(err, 'mkdir without parents must fail');
  const files = await exportTar(env, scratch().file(mkdir('/x/y/z', 0o750, { makeParents: true })));
  assert.is(entry(files, 'x/y/z').type, 'dir');
  assert.is(entry(files, 'x/y/z').mode & 0o777, 0o750);
});

t('owners by id on mkdir, mkfile and copy', async ({ env }) => {
  const src = scratch().file(mkfile('/f', 0o644, 'f'));
  const st = scratch().file(
    mkdir('/d', 0o755, { owner: '1:2' })
      .mkfile('/m', 0o644, 'm', { owner: { user: 1000, group: 1001 } })
      .copy(src, '/f', '/c', { owner: 4242 })
      .mkfile('/g', 0o644, 'g', { owner: { group: 7 } }),
  );
  const files = await exportTar(env, st);
  assert.equal([entry(files, 'd').uid, entry(files, 'd').gid], [1, 2]);
  assert.equal([entry(files, 'm').uid, entry(files, 'm').gid], [1000, 1001]);
  // A user without a group: BuildKit uses the uid for both.
  assert.equal([entry(files, 'c').uid, entry(files, 'c').gid], [4242, 4242]);
  assert.is(entry(files, 'c').data.toString(), 'f');
  assert.equal([entry(files, 'g').uid, entry(files, 'g').gid], [0, 7]);
});

t('owners by name resolve against the base image /etc/passwd and /etc/group', async ({ env }) => {
  const src = scratch().file(mkfile('/f', 0o644, 'payload'));
  const st = image(env.images.amd64).file(
    copy(src, '/f', '/srv/copied', { owner: 'www-data:nogroup', createDestPath: true })
      .mkdir('/srv/dir', 0o755, { owner: 'nobody' })
      .mkfile('/srv/file', 0o600, 'x', { owner: { user: 'www-data', group: 'root' } }),
  );
  const st2 = await statPaths(env, st, ['srv/copied', 'srv/dir', 'srv/file']);
  assert.is(st2['srv/copied'], '33:65534 644 regular file');
  assert.is(st2['srv/dir'], '65534:65534 755 directory');
  assert.is(st2['srv/file'], '33:0 600 regular file');
  // A name the base's passwd does not list: BuildKit v0.8 falls back to 0:0 without an error.
  const unknown = await statPaths(env, image(env.images.amd64).file(mkfile('/x', 0o644, 'x', { owner: 'no-such-user' })), ['x']);
  assert.is(unknown.x, '0:0 644 regular file');
});

t('copy keeps source owners unless owner is given, which then applies to the whole tree', async ({ env }) => {
  const img = image(env.images.amd64).file(mkdir('/var/www/sub', 0o755).mkfile('/var/www/sub/page', 0o644, 'p', { owner: '33:33' }));
  const kept = await exportTar(env, scratch().file(copy(img, '/var/www', '/www')));
  assert.equal([entry(kept, 'www').uid, entry(kept, 'www').gid], [33, 33], 'the dir keeps its owner');
  assert.equal([entry(kept, 'www/sub').uid, entry(kept, 'www/sub/page').uid], [0, 33]);
  const chowned = await exportTar(env, scratch().file(copy(img, '/var/www', '/www', { owner: '1000:1001' })));
  for (const p of ['www', 'www/sub', 'www/sub/page']) assert.equal([entry(chowned, p).uid, entry(chowned, p).gid], [1000, 1001], p);
});

t('chained actions run in order within ONE FileOp and see each other', async ({ env }) => {
  const other = scratch().file(mkfile('/o', 0o644, 'other'));
  const st = image(env.images.amd64).file(
    mkdir('/w', 0o755)
      .mkfile('/w/one', 0o644, '1')
      .copy(other, '/o', '/w/two')
      .mkdir('/w/sub', 0o700)
      .rm('/w/one')
      .mkfile('/w/sub/three', 0o644, '3'),
  );
  const def = decodeDefinition(marshal(st, { platform: 'linux/amd64' }).toBytes());
  const fileOps = def.ops.filter((o) => o.op.file);
  assert.is(fileOps.length, 2, 'one FileOp for the chain, one for `other`');
  assert.is(fileOps[1].op.file.actions.length, 6);
  const out = await inspect(env, st, 'ls -A w | sort | tr "\\n" " "; echo; cat w/two; echo; cat w/sub/three; echo; ls /in/bin/busybox');
  assert.is(out, 'sub two \nother\n3\n/in/bin/busybox\n');
});

t('copies from several outputs of ONE exec pick the right output index', async ({ env }) => {
  const run = image(env.images.amd64).run({
    shell: 'echo A > /m/a/file; echo B > /m/b/file; echo R > /rootfile',
    mounts: [
      { target: '/m/b', from: scratch() },
      { target: '/m/a', from: scratch() },
    ],
  });
  const st = scratch().file(
    copy(run.getMount('/m/a'), '/file', '/from-a')
      .copy(run.getMount('/m/b'), '/file', '/from-b')
      .copy(run.root(), '/rootfile', '/from-root')
      .copy(run.getMount('/m/a'), '/file', '/from-a-again'),
  );
  const def = decodeDefinition(marshal(st, { platform: 'linux/amd64' }).toBytes());
  const fileOp = def.ops.find((o) => o.op.file)!.op;
  assert.equal(fileOp.inputs.map((i: { index?: number }) => i.index ?? 0).sort(), [0, 1, 2], 'three distinct outputs, deduplicated');
  const files = await exportTar(env, st);
  assert.is(entry(files, 'from-a').data.toString(), 'A\n');
  assert.is(entry(files, 'from-b').data.toString(), 'B\n');
  assert.is(entry(files, 'from-root').data.toString(), 'R\n');
  assert.is(entry(files, 'from-a-again').data.toString(), 'A\n');
});

t('copy: createDestPath creates missing parents, else the copy fails', async ({ env }) => {
  const src = scratch().file(mkfile('/f', 0o644, 'f'));
  const err = await solveError(env, scratch().file(copy(src, '/f', '/a/b/c/f')));
  assert.ok(err, 'copy into a missing directory must fail without createDestPath');
  const files = await exportTar(env, scratch().file(copy(src, '/f', '/a/b/c/f', { createDestPath: true })));
  assert.is(entry(files, 'a/b/c/f').data.toString(), 'f');
  assert.is(entry(files, 'a/b').type, 'dir');
});

t('copy: allowWildcard copies every match; allowEmptyWildcard tolerates none', async ({ env }) => {
  const src = scratch().file(mkdir('/s', 0o755).mkfile('/s/a.txt', 0o644, 'A').mkfile('/s/b.txt', 0o644, 'B').mkfile('/s/c.md', 0o644, 'C'));
  const files = await exportTar(env, scratch().file(copy(src, '/s/*.txt', '/dst/', { allowWildcard: true, createDestPath: true })));
  assert.equal([...files.keys()].filter((k) => k.startsWith('dst/')).sort(), ['dst/a.txt', 'dst/b.txt']);
  assert.is(entry(files, 'dst/b.txt').data.toString(), 'B');
  const literal = await solveError(env, scratch().file(copy(src, '/s/*.txt', '/dst/', { createDestPath: true })));
  assert.ok(literal, 'without allowWildcard "*.txt" is a literal (missing) name');
  const none = await solveError(env, scratch().file(copy(src, '/s/*.none', '/dst/', { allowWildcard: true, createDestPath: true })));
  assert.ok(none, 'a wildcard with no match fails by default');
  const empty = await exportTar(env, scratch().file(mkfile('/k', 0o644, 'k').copy(src, '/s/*.none', '/dst/', { allowWildcard: true, allowEmptyWildcard: true, createDestPath: true })));
  assert.is(entry(empty, 'k').data.toString(), 'k');
  assert.not.ok([...empty.keys()].some((k) => k.startsWith('dst/') && k !== 'dst'), 'nothing copied');
});

t('copy: dirCopyContents copies the contents, not the directory', async ({ env }) => {
  const src = scratch().file(mkdir('/src', 0o755).mkfile('/src/file', 0o644, 'in src'));
  const base = scratch().file(mkdir('/dst', 0o755));
  const contents = await exportTar(env, base.file(copy(src, '/src', '/dst', { dirCopyContents: true })));
  assert.is(entry(contents, 'dst/file').data.toString(), 'in src');
  assert.not.ok(contents.has('dst/src'));
  const whole = await exportTar(env, base.file(copy(src, '/src', '/dst', { dirCopyContents: false })));
  assert.is(entry(whole, 'dst/src/file').data.toString(), 'in src');
  assert.not.ok(whole.has('dst/file'));
});

t('copy: followSymlinks copies the target; otherwise the link itself', async ({ env }) => {
  const dir = hostDir({ 'real.txt': 'real data', link: { symlink: 'real.txt' } });
  const mk = (follow: boolean) => (sessionId: string) => scratch().file(copy(local('ctx', { sessionId }), '/link', '/out', { followSymlinks: follow }));
  const followed = await exportTar(env, mk(true), { ctx: dir });
  assert.is(entry(followed, 'out').type, 'file');
  assert.is(entry(followed, 'out').data.toString(), 'real data');
  const kept = await exportTar(env, mk(false), { ctx: dir });
  assert.is(entry(kept, 'out').type, 'symlink');
  assert.is(entry(kept, 'out').linkname, 'real.txt');
});

t('copy: mode overrides the source mode; createdTime sets mtime', async ({ env }) => {
  const src = scratch().file(mkfile('/f', 0o600, 'f'));
  const when = new Date('2001-02-03T04:05:06Z');
  const st = scratch().file(copy(src, '/f', '/g', { mode: 0o751, createdTime: when }).mkfile('/h', 0o644, 'h', { createdTime: when }).mkdir('/d', 0o755, { createdTime: when }));
  const out = await inspect(env, st, 'stat -c "%n %a %Y" g h d');
  assert.is(out, `g 751 ${when.getTime() / 1000}\nh 644 ${when.getTime() / 1000}\nd 755 ${when.getTime() / 1000}\n`);
});

t('copy: attemptUnpack extracts a tar archive, plain copy does not', async ({ env }) => {
  const archive = image(env.images.amd64)
    .run({ shell: 'mkdir -p /pkg/inner && echo packed > /pkg/inner/file && tar -C /pkg -cf /out/a.tar inner', mounts: [{ target: '/out', from: scratch() }] })
    .getMount('/out');
  const unpacked = await exportTar(env, scratch().file(copy(archive, '/a.tar', '/x/', { attemptUnpack: true, createDestPath: true })));
  assert.is(entry(unpacked, 'x/inner/file').data.toString(), 'packed\n');
  assert.not.ok(unpacked.has('x/a.tar'));
  const plain = await exportTar(env, scratch().file(copy(archive, '/a.tar', '/x/', { createDestPath: true })));
  assert.is(entry(plain, 'x/a.tar').type, 'file');
  assert.not.ok(plain.has('x/inner/file'));
});

t('relative paths in file actions resolve against the state dir', async ({ env }) => {
  const src = scratch().dir('/from').file(mkdir('/from', 0o755).mkfile('/from/s', 0o644, 's'));
  const st = scratch()
    .file(mkdir('/work', 0o755))
    .dir('/work')
    .file(mkfile('rel.txt', 0o644, 'r').mkdir('sub', 0o755).copy(src, 's', 'sub/copied'));
  const files = await exportTar(env, st);
  assert.is(entry(files, 'work/rel.txt').data.toString(), 'r');
  assert.is(entry(files, 'work/sub/copied').data.toString(), 's');
  assert.not.ok(files.has('rel.txt'));
});

t('a copy from the base state reads the base, not the chain so far (testFileOpInputSwap)', async ({ env }) => {
  const base = scratch().file(mkfile('/foo', 0o600, 'foo'));
  const src = scratch().file(mkfile('/bar', 0o600, 'bar'));
  const ok = await exportTar(env, base.file(copy(src, '/bar', '/baz')));
  assert.is(entry(ok, 'baz').data.toString(), 'bar');
  assert.is(entry(ok, 'foo').data.toString(), 'foo');
  const err = await solveError(env, base.file(copy(base, '/bar', '/baz')));
  assert.ok(err, '/bar does not exist in base');
  assert.match(err!, /bar/);
});

t.run();
