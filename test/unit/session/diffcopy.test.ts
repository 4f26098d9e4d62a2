import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sendDiffCopy, receiveDiffCopy } from '../../../src/session/diffcopy';
import { messagePair } from '../../../src/session/stream';
import { describeTree, makeContextTree, tmpDir } from './helpers';
import { decodePacket, encodeSimplePacket, encodeStatPacket, PACKET_REQ, PACKET_DATA, PACKET_STAT, PACKET_FIN } from '../../../src/session/packet';
import { ModeDir, ModeSymlink } from '../../../src/session/gomode';

async function loopback(src: string, dest: string, opts: Parameters<typeof sendDiffCopy>[2] = {}) {
  const [a, b] = messagePair();
  const [sent, received] = await Promise.all([sendDiffCopy(a, src, opts), receiveDiffCopy(b, dest)]);
  return { sent, received };
}

test('sender → receiver loopback reproduces the tree exactly', async () => {
  const src = makeContextTree();
  const dest = tmpDir('dest');
  const { sent, received } = await loopback(src, dest);
  const want = describeTree(src);
  const got = describeTree(dest);
  assert.equal([...got.keys()], [...want.keys()]);
  for (const [p, w] of want) {
    const g = got.get(p)!;
    assert.is(g.type, w.type, p);
    assert.is(g.mode, w.mode, `mode of ${p}`);
    assert.is(g.content, w.content, `content of ${p}`);
    assert.is(g.target, w.target, `symlink target of ${p}`);
    if (w.type === 'file') assert.is(g.mtimeMs, w.mtimeMs, `mtime of ${p}`);
  }
  // hardlink preserved as a hardlink
  assert.is(got.get('a-hard')!.ino, got.get('src/b-hard')!.ino);
  assert.is.not(got.get('a-hard')!.ino, got.get('README.md')!.ino);
  assert.is((fs.statSync(path.join(dest, 'run.sh')).mode & 0o111) !== 0, true);
  assert.is(fs.readFileSync(path.join(dest, 'src/big.bin')).length, 200 * 1024 + 17);
  assert.is(sent.entries, want.size);
  assert.is(received.entries, want.size);
  assert.is(received.skipped.length, 0);
  // one hardlink is not transferred as data
  const regular = [...want.values()].filter((e) => e.type === 'file').length;
  assert.is(received.files, regular - 1);
});

test('exclude patterns with exceptions keep excluded paths out, parents of re-included files in', async () => {
  const src = makeContextTree();
  const dest = tmpDir('dest');
  await loopback(src, dest, { excludePatterns: ['node_modules', '*.env', '**/*.log', '!src/lib/keep.log'] });
  const got = describeTree(dest);
  assert.not.ok(got.has('node_modules'));
  assert.not.ok(got.has('secret.env'));
  assert.not.ok(got.has('src/lib/drop.log'));
  assert.ok(got.has('src/lib/keep.log'));
  assert.ok(got.has('src/main.ts'));
});

test('include patterns send matching files and their parent directories only', async () => {
  const src = makeContextTree();
  const dest = tmpDir('dest');
  await loopback(src, dest, { includePatterns: ['src/lib/deep/*.txt', 'run.sh'] });
  assert.equal([...describeTree(dest).keys()], ['run.sh', 'src', 'src/lib', 'src/lib/deep', 'src/lib/deep/data.txt']);
});

test('followpaths resolves a symlink into its target', async () => {
  const src = makeContextTree();
  const dest = tmpDir('dest');
  await loopback(src, dest, { followPaths: ['link-to-main'] });
  assert.equal([...describeTree(dest).keys()], ['link-to-main', 'src', 'src/main.ts']);
});

test('a walk error reaches the receiver as an error', async () => {
  const dest = tmpDir('dest');
  const [a, b] = messagePair();
  const r = await Promise.allSettled([sendDiffCopy(a, '/nonexistent/dir/xyz'), receiveDiffCopy(b, dest)]);
  assert.is(r[0].status, 'rejected');
  assert.is(r[1].status, 'rejected');
  assert.match(String((r[1] as PromiseRejectedResult).reason.message), /error from sender: .*nonexistent/);
});

test('sender serves only regular files: a REQ for a symlink gets an empty DATA', async () => {
  const src = tmpDir('symreq');
  fs.symlinkSync('/etc/hostname', path.join(src, 'link'));
  fs.writeFileSync(path.join(src, 'real'), 'real content');
  const [a, b] = messagePair();
  const sent = sendDiffCopy(a, src);
  const got = new Map<number, Buffer[]>();
  await new Promise<void>((resolve) => {
    let statsDone = false;
    let pending = 2;
    b.on('data', (m: Buffer) => {
      const p = decodePacket(m);
      if (p.type === PACKET_STAT && !p.stat && !statsDone) {
        statsDone = true;
        b.write(encodeSimplePacket(PACKET_REQ, 0)); // 'link'
        b.write(encodeSimplePacket(PACKET_REQ, 1)); // 'real'
      } else if (p.type === PACKET_DATA) {
        if (p.data?.length) (got.get(p.id) ?? got.set(p.id, []).get(p.id)!).push(Buffer.from(p.data));
        else if (--pending === 0) { b.write(encodeSimplePacket(PACKET_FIN)); }
      } else if (p.type === PACKET_FIN) resolve();
    });
  });
  await sent;
  assert.is(got.has(0), false, 'no data for the symlink');
  assert.is(Buffer.concat(got.get(1)!).toString(), 'real content');
});

test('receiver rejects paths escaping the target, out-of-order and duplicate entries', async () => {
  const stat = (p: string, mode: number, linkname = '') => ({ path: p, mode, uid: 0, gid: 0, size: 0n, modTime: 0n, linkname, devmajor: 0n, devminor: 0n });
  const cases: [string, ReturnType<typeof stat>[]][] = [
    ['escape', [stat('../evil', 0o644)]],
    ['absolute', [stat('/etc/evil', 0o644)]],
    ['out of order', [stat('a/b', 0o644)]],
    ['duplicate', [stat('a', (ModeDir | 0o755) >>> 0), stat('a', (ModeSymlink | 0o777) >>> 0, '/etc'), stat('a/passwd', 0o644)]],
  ];
  for (const [what, stats] of cases) {
    const dest = tmpDir('evil');
    const [a, b] = messagePair();
    const r = receiveDiffCopy(b, dest);
    for (const s of stats) a.write(encodeStatPacket(s));
    await r.then(() => assert.unreachable(what), (e) => assert.match(String(e.message), /invalid path|out of order|duplicate/, what));
    assert.not.ok(fs.existsSync(path.join(dest, '..', 'evil')) || fs.existsSync('/etc/evil'), `${what}: nothing written outside the target`);
    assert.not.ok([...describeTree(dest).values()].some((e) => e.type === 'symlink'), `${what}: no directory was replaced by a symlink`);
  }
});

test.run();
